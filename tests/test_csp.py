"""Content-Security-Policy (issue 13, hardening): every page says that scripts and styles
come from this site only, and no page carries an inline script or style that it would block
(the browser tests then run the pages under it)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


def test_pages_allow_scripts_and_styles_from_this_site_only(owner_client):
    response = owner_client.get("/")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("name", ["home", "portfolios:list", "settings", "pensions:list"])
def test_pages_carry_no_inline_script_or_style(owner_client, name):
    html = owner_client.get(reverse(name)).content.decode()
    # A <script> without src (other than JSON data) or a style attribute would be blocked.
    inline = [
        tag
        for tag in re.findall(r"<script\b[^>]*>", html)
        if "src=" not in tag and "application/json" not in tag
    ]
    assert inline == []
    assert " style=" not in html
    assert '"includeIndicatorStyles": false' in html  # htmx injects no <style> either


def test_the_swagger_page_loads_its_script_as_a_file(owner_client):
    html = owner_client.get("/api/v1/docs/").content.decode()
    inline = [t for t in re.findall(r"<script\b[^>]*>", html) if "src=" not in t]
    assert inline == []
    # Swagger UI styles its elements from script: inline styles there, never scripts.
    directives = policy(owner_client.get("/api/v1/docs/"))
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["script-src"] == ["'self'"]
    script = owner_client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "application/javascript" in script["Content-Type"]
