"""A fake YNAB: a real HTTP server on 127.0.0.1 (a thread of the test process) whose answers
are built from the schemas of YNAB's own OpenAPI spec and validated against them before
they are served, so the client is tested against the shapes YNAB documents."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "ynab-openapi.yaml"
PLAN = "6f4a2c1e-8b7d-4e3f-a9c0-1d2e3f4a5b6c"
TOKEN = "ynab-secret-token-4d9f0c7e2b"


@cache
def _spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def validate(body: dict, schema_name: str) -> dict:
    """Raise unless the body matches components/schemas/<schema_name> of the spec."""
    spec = _spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(body)
    return body


def account(name: str, balance: int, *, id: str | None = None, **extra) -> dict:
    """An Account as the spec has it (every required field), balance in milliunits."""
    return {
        "id": id or str(uuid.uuid4()),
        "name": name,
        "type": "otherAsset",
        "on_budget": False,
        "closed": False,
        "note": None,
        "balance": balance,
        "cleared_balance": balance,
        "uncleared_balance": 0,
        "transfer_payee_id": str(uuid.uuid4()),
        "deleted": False,
        **extra,
    }


def accounts_response(accounts: list[dict], knowledge: int) -> dict:
    return validate(
        {"data": {"accounts": accounts, "server_knowledge": knowledge}}, "AccountsResponse"
    )


def account_response(row: dict) -> dict:
    return validate({"data": {"account": row}}, "AccountResponse")


def settings_response(iso_code: str = "NOK") -> dict:
    currency = {
        "iso_code": iso_code,
        "example_format": "123 456,78",
        "decimal_digits": 2,
        "decimal_separator": ",",
        "symbol_first": False,
        "group_separator": " ",
        "currency_symbol": "kr",
        "display_symbol": True,
    }
    body = {
        "data": {"settings": {"date_format": {"format": "DD.MM.YYYY"}, "currency_format": currency}}
    }
    return validate(body, "PlanSettingsResponse")


def error_response(status: int, name: str, detail: str) -> dict:
    return validate({"error": {"id": str(status), "name": name, "detail": detail}}, "ErrorResponse")


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)
    delay: float = 0


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    authorization: str | None


class FakeYnab:
    """answers: path -> Answer (or a list of Answers, served in turn; the last repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer | list[Answer]] = {}
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                fake.seen.append(
                    Seen(
                        "GET", parts.path, parse_qs(parts.query), self.headers.get("Authorization")
                    )
                )
                answer = fake._answer(parts.path)
                if answer.delay:
                    time.sleep(answer.delay)
                payload = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _answer(self, path: str) -> Answer:
        path = path.removeprefix("/v1")
        found = self.answers.get(path)
        if found is None:
            return Answer(404, error_response(404, "not_found", "Resource not found"))
        if isinstance(found, list):
            return found.pop(0) if len(found) > 1 else found[0]
        return found

    def start(self) -> FakeYnab:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
