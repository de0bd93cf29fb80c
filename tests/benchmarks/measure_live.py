"""Live socket figures (issue 12's closing note): the latency from a transaction saved
through the API to the pushed "portfolio" message (p50 over 50 saves), and the memory of
one server process with 100 open sockets. A script, not a test: figures to report.

    DATABASE_URL=sqlite:////tmp/live.sqlite3 .venv/bin/python tests/benchmarks/measure_live.py
    # with REDIS_URL set, the channel layer is Redis (as in production)

One uvicorn process (as a gunicorn worker runs it), the offline provider (no network), a
user with one portfolio and one holding.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("LIVE_PORT", "8766"))
PYTHON = sys.executable
SOCKETS = 100
SAVES = 50


def _manage(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    ).stdout


SETUP = """
from decimal import Decimal
import datetime as dt
from django.contrib.auth import get_user_model
from marketdata.models import HistoricalStockPrice, Instrument
from portfolios import services
from portfolios.models import Portfolio
from rest_framework_simplejwt.tokens import AccessToken
user, _ = get_user_model().objects.get_or_create(username="live")
p, made = Portfolio.objects.get_or_create(user=user, name="Live", defaults={"currency": "NOK"})
i, _ = Instrument.objects.get_or_create(ticker="LIVE.OL", defaults={"currency": "NOK"})
HistoricalStockPrice.objects.get_or_create(
    instrument=i, date=dt.date(2024, 1, 2), defaults={"close": Decimal(100)})
if made:
    services.record_transaction(portfolio=p, instrument=i, type="BUY", date=dt.date(2024, 1, 2),
        quantity=Decimal(1), price=Decimal(100), fees=Decimal(0))
print(p.pk, AccessToken.for_user(user))
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(pk: int, token: str, pid: int) -> None:
    url = f"ws://127.0.0.1:{PORT}/api/v1/ws/portfolio/{pk}"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", headers=headers) as http:
        # Warm: one page of the API and one socket, so that what follows is the sockets' cost.
        await http.get(f"/api/v1/portfolios/{pk}")
        async with websockets.connect(url, additional_headers=headers) as probe:
            await probe.recv()
        before = rss_kib(pid)
        sockets = []
        for _ in range(SOCKETS):
            socket = await websockets.connect(url, additional_headers=headers)
            assert json.loads(await socket.recv())["type"] == "snapshot"
            sockets.append(socket)
        await asyncio.sleep(1)
        after = rss_kib(pid)
        print(
            f"RSS: {before / 1024:.1f} MiB with no socket, {after / 1024:.1f} MiB with {SOCKETS}"
            f" open ({(after - before) / SOCKETS:.0f} KiB per socket)"
        )

        follower = sockets[0]
        latencies = []
        for _ in range(SAVES):
            sent = time.perf_counter()
            response = await http.post(
                "/api/v1/transactions",
                json={
                    "portfolio": pk,
                    "symbol": "LIVE.OL",
                    "type": "BUY",
                    "date": "2024-02-01",
                    "quantity": "1",
                    "price": "100",
                },
            )
            assert response.status_code == 201, response.text
            answered = time.perf_counter()
            while json.loads(await follower.recv())["type"] != "portfolio":
                pass
            pushed = time.perf_counter()
            latencies.append((pushed - sent, answered - sent))
            # Every other socket gets it too: drain them so that none falls behind.
            for other in sockets[1:]:
                while json.loads(await other.recv())["type"] != "portfolio":
                    pass
        push = statistics.median(p for p, _ in latencies) * 1000
        answer = statistics.median(a for _, a in latencies) * 1000
        print(
            f"{SAVES} saves with {SOCKETS} sockets on the portfolio: request sent -> pushed"
            f" message p50 {push:.0f} ms (the HTTP answer itself: p50 {answer:.0f} ms)"
        )
        print(f"RSS after the saves: {rss_kib(pid) / 1024:.1f} MiB")
        for socket in sockets:
            await socket.close()


def main() -> None:
    _manage("migrate", "--noinput")
    pk, token = _manage("shell", stdin=SETUP).strip().splitlines()[-1].split()
    env = {**os.environ, "MARKETDATA_PROVIDER": "offline", "LIVE_EMBEDDED_REFRESH": "false"}
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "uvicorn"),
            "financedash.asgi:application",
            "--port",
            str(PORT),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        asyncio.run(measure(int(pk), token, server.pid))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
