"""Time the first requests after gunicorn starts, as the Dockerfile runs it (uvicorn
workers). A script, not a test: figures to report on a shared machine, not assertions.

    DATABASE_URL=sqlite:////tmp/startup.sqlite3 \
        .venv/bin/python tests/benchmarks/measure_startup.py [gunicorn args]

It migrates the database it is given, adds a user with a portfolio, starts gunicorn (extra
arguments go to gunicorn, e.g. --preload), waits until the port answers a bare TCP connect
(no request reaches Django before the measured one), then times the first and second GET of
the login page and of the signed-in dashboard.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("STARTUP_PORT", "8765"))
PYTHON = sys.executable


def _manage(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    ).stdout


def _session_cookie() -> str:
    code = """
from django.contrib.auth import get_user_model
from django.test import Client
from decimal import Decimal
import datetime as dt
from marketdata.models import Instrument
from portfolios import services
from portfolios.models import Portfolio
user, _ = get_user_model().objects.get_or_create(username="startup")
user.set_password("startup"); user.save()
if not Portfolio.objects.filter(user=user).exists():
    p = Portfolio.objects.create(user=user, name="Startup", currency="NOK")
    i, _ = Instrument.objects.get_or_create(ticker="STARTUP.OL", defaults={"currency": "NOK"})
    services.record_transaction(portfolio=p, instrument=i, type="BUY", date=dt.date(2024, 1, 2),
        quantity=Decimal(1), price=Decimal(100), fees=Decimal(0))
c = Client(); c.force_login(user)
from django.conf import settings
print(c.cookies[settings.SESSION_COOKIE_NAME].value)
"""
    return _manage("shell", stdin=code).strip().splitlines()[-1]


def _get(path: str, cookie: str | None) -> tuple[float, int]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    began = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    took = (time.perf_counter() - began) * 1000
    conn.close()
    return took, response.status


def main() -> None:
    _manage("migrate", "--noinput")
    _manage("collectstatic", "--noinput")  # as the image does: with DEBUG off pages need it
    cookie = _session_cookie()
    env = {**os.environ, "MARKETDATA_PROVIDER": os.environ.get("MARKETDATA_PROVIDER", "offline")}
    began = time.perf_counter()
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "financedash.asgi:application",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "1",
            *sys.argv[1:],
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # gunicorn binds before its worker boots; a worker is up when it accepts and answers.
        time.sleep(float(os.environ.get("STARTUP_SETTLE", "10")))
        listening = time.perf_counter() - began
        args = " ".join(sys.argv[1:]) or "(no extra args)"
        print(f"gunicorn {args}: ready after {listening:.1f} s")
        for label, path, auth in (
            ("first  GET /login/", "/login/", None),
            ("second GET /login/", "/login/", None),
            ("first  GET / (signed in)", "/", cookie),
            ("second GET / (signed in)", "/", cookie),
            ("GET /health", "/health", None),
        ):
            took, status = _get(path, auth)
            print(f"  {label:<30} {took:8.1f} ms  ({status})")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
