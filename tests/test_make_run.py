"""`make run` and `make demo` serve without Django's debug pages unless DEBUG=true is asked
for, and still serve static files (no collectstatic) and the friendly 500 page.

The server is started by `make run` itself (without its install and migrate steps), in a
process of its own, against an empty SQLite database: the login page's first query then
fails, which is the cheapest real 500 a server started from outside can be made to show."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(target: str, port: int, *make_args: str) -> list[str]:
    # -o migrate: the database stays empty (the test's 500), and nothing is installed.
    return ["make", "-o", "migrate", "-o", "install", target, f"PORT={port}", *make_args]


def _server_line(target: str) -> str:
    printed = subprocess.run(
        ["make", "-n", "-o", "migrate", "-o", "install", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in printed.splitlines() if "uvicorn" in line][-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            kind = response.headers.get("Content-Type", "")
            return response.status, kind, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def _serve(command: list[str], env: dict, port: int):
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # uvicorn --reload forks a worker: stop the whole group
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.2)


def _stop(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def environment(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",  # never migrated
        REDIS_URL="",
        MARKETDATA_PROVIDER="offline",
    )
    # Unset: the default must admit 127.0.0.1 and localhost.
    env.pop("ALLOWED_HOSTS", None)
    env.pop("STATIC_FROM_SOURCE", None)
    return env


def test_make_run_hides_the_debug_page_and_still_serves_static_files(environment):
    port = _free_port()
    process = _serve(_make("run", port), environment, port)
    try:
        status, _, page = _get(f"http://127.0.0.1:{port}/login/")
        assert status == 500
        assert "Something went wrong" in page  # templates/500.html
        assert "Traceback" not in page and "OperationalError" not in page
        # Served without collectstatic (a missing manifest would have failed the 500 page).
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page).group(1)
        status, kind, css = _get(f"http://127.0.0.1:{port}{stylesheet}")
        assert (status, kind.split(";")[0]) == (200, "text/css")
        assert ".skip-link" in css
        # localhost is allowed as well as 127.0.0.1 (a refused host would be a 400).
        status, _, _ = _get(f"http://localhost:{port}/health")
        assert status == 200
    finally:
        _stop(process)


def test_make_demo_serves_as_make_run_does():
    run, demo = _server_line("run"), _server_line("demo")
    assert "DEBUG=${DEBUG:-false}" in run
    assert demo.endswith(run)


def test_debug_pages_are_an_explicit_opt_in(environment):
    # `make run DEBUG=true`; `DEBUG=true make run` reaches the recipe's ${DEBUG:-false} the
    # same way (make passes a command-line variable to the recipe's environment).
    port = _free_port()
    process = _serve(_make("run", port, "DEBUG=true"), environment, port)
    try:
        status, _, page = _get(f"http://127.0.0.1:{port}/login/")
        assert status == 500
        assert "OperationalError" in page and "Traceback" in page  # Django's debug page
    finally:
        _stop(process)
