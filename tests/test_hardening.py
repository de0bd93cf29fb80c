"""Issue 13 hardening: deploy checks from the environment, configurable admin path and
session lifetime, the API description behind a login, CORS for a configured origin only,
and a container health check that works when ALLOWED_HOSTS holds only the real host."""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "finance.example.com",
    "SECURE_COOKIES": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "true",
}


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_a_production_environment():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    # Without the HTTPS settings the same check fails: they come from the environment.
    plain = {k: v for k, v in PRODUCTION.items() if not k.startswith("SECURE_")}
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **plain)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_admin_path_and_session_lifetime_come_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from django.urls import reverse; "
        "print(reverse('admin:index'), settings.SESSION_COOKIE_AGE, "
        "settings.SECURE_PROXY_SSL_HEADER)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "financedash.settings"}
    custom = _run(
        "-c",
        code,
        **env,
        ADMIN_URL="/manage-7f3a/",
        SESSION_COOKIE_AGE="3600",
        SECURE_PROXY_SSL_HEADER="true",
    )
    assert custom.stdout.split() == [
        "/manage-7f3a/",
        "3600",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]
    default = _run("-c", code, **env)
    # Two weeks, /admin/, and no trust in a client's X-Forwarded-Proto unless opted in.
    assert default.stdout.split() == ["/admin/", "1209600", "None"], default.stderr


@pytest.mark.django_db
def test_the_api_docs_page_is_for_logged_in_people(client, owner):
    assert client.get("/api/v1/docs/")["Location"] == "/login/?next=/api/v1/docs/"
    assert client.get("/api/v1/schema/").status_code == 401
    client.force_login(owner)
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/schema/").status_code == 200


@pytest.mark.django_db
def test_cors_answers_only_a_configured_origin(client, settings):
    preflight = {
        "HTTP_ORIGIN": "https://app.example.com",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization",
    }
    response = client.options("/api/v1/portfolios", **preflight)
    assert "access-control-allow-origin" not in response.headers  # none by default
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = client.options("/api/v1/portfolios", **preflight)
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "authorization" in response.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response.headers
    other = client.options(
        "/api/v1/portfolios", **{**preflight, "HTTP_ORIGIN": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    # Pages are never shared across origins.
    page = client.get("/login/", HTTP_ORIGIN="https://app.example.com")
    assert "access-control-allow-origin" not in page.headers


def _healthcheck():
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy/healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_health_check_sends_a_host_the_app_accepts():
    host_header = _healthcheck().host_header
    assert host_header("finance.example.com") == "finance.example.com"
    assert host_header(" .example.com, other.example.com") == "example.com"
    assert host_header("*") == "localhost"
    assert host_header(None) == "localhost"


@pytest.mark.django_db(transaction=True)
def test_the_container_health_check_passes_with_only_the_real_host_allowed(
    live_server, settings, monkeypatch
):
    settings.ALLOWED_HOSTS = ["finance.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    healthcheck = _healthcheck()
    monkeypatch.setenv("HEALTHCHECK_PORT", str(live_server.thread.port))
    monkeypatch.setenv("ALLOWED_HOSTS", "finance.example.com")
    assert healthcheck.main() == 0
    # What the old check sent (Host: 127.0.0.1) is refused as a disallowed host.
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1")
    assert healthcheck.main() == 1
