from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.mark.django_db
def test_html_login_locks_out_after_repeated_failures(client, owner, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session
