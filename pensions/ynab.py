"""The YNAB client (https://api.ynab.com, spec in shared/contracts/ynab-openapi.yaml).

The access token comes from the environment only (settings.YNAB_ACCESS_TOKEN): it is put
in the Authorization header and nowhere else, never in a log line, an error message, the
cache or the database. Amounts arrive in milliunits (1234560 = 1,234.56) and leave here
as Decimal.

YNAB allows 200 requests an hour per token. Each request spends one unit of a rolling-hour
budget kept in the shared cache (YNAB_REQUEST_BUDGET, below YNAB's limit); when it is spent
the call is refused here, with the time to wait, before YNAB refuses it. The account list
is read as a delta (`last_knowledge_of_server`) against the merged list kept per budget in
the database, and answers are reused for YNAB_CACHE_TTL seconds.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions, status

from pensions.models import YnabBudgetState

log = logging.getLogger(__name__)

MILLI = Decimal(1000)
# YNAB ids are UUIDs; "last-used" and "default" name a budget too.
BUDGET_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
BUDGET_ID_HELP = "A YNAB budget id: letters, digits and dashes, as in YNAB's web address."
UNREADABLE = "YNAB sent an answer this app cannot read. The values shown are the last ones stored."
HOUR = 3600


class YnabError(exceptions.APIException):
    """A YNAB failure, as the API's error JSON (financedash.errors reads error_code) and as
    a message for the pages and the command."""

    error_code = "ynab_unavailable"

    @property
    def message(self) -> str:
        return str(self.detail)


class YnabNotConfigured(YnabError):
    status_code = status.HTTP_409_CONFLICT
    error_code = "ynab_not_configured"


class YnabUnauthorized(YnabError):
    status_code = status.HTTP_502_BAD_GATEWAY
    error_code = "ynab_unauthorized"


class YnabNotFound(YnabError):
    status_code = status.HTTP_404_NOT_FOUND
    error_code = "ynab_not_found"


class YnabRateLimited(YnabError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    error_code = "ynab_rate_limited"

    def __init__(self, detail: str, wait: int):
        super().__init__(detail)
        self.wait = wait  # DRF's handler turns it into Retry-After


class YnabUnavailable(YnabError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    error_code = "ynab_unavailable"


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    type: str
    balance: Decimal  # in the budget's currency
    closed: bool
    deleted: bool = False


@dataclass(frozen=True)
class Balance:
    account_id: str
    name: str
    balance: Decimal
    currency: str
    as_of: datetime


def configured() -> bool:
    return bool(settings.YNAB_ACCESS_TOKEN)


def milliunits(amount: int) -> Decimal:
    """YNAB's integer milliunits as an exact Decimal: -1234567 -> -1234.567."""
    return Decimal(int(amount)) / MILLI


# -- the request budget ------------------------------------------------------------------

_SPENT_KEY = "ynab:requests"


def _spend() -> None:
    """Count one request against the rolling hour, or refuse it with the wait in seconds."""
    now = time.time()
    spent = [t for t in cache.get(_SPENT_KEY, []) if t > now - HOUR]
    if len(spent) >= settings.YNAB_REQUEST_BUDGET:
        wait = max(1, int(spent[0] + HOUR - now) + 1)
        raise YnabRateLimited(
            f"The app has used its {settings.YNAB_REQUEST_BUDGET} YNAB requests for this hour "
            f"(YNAB allows 200). Try again in {_minutes(wait)}.",
            wait,
        )
    spent.append(now)
    cache.set(_SPENT_KEY, spent, HOUR)


def _minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


# -- one request -------------------------------------------------------------------------


def check_configured() -> None:
    if not configured():
        raise YnabNotConfigured(
            "YNAB is not set up on this server: its administrator must set YNAB_ACCESS_TOKEN."
        )


_DOWN_KEY = "ynab:down"
DOWN_SECONDS = 60


def _get(path: str, params: dict | None = None) -> dict:
    check_configured()
    if cache.get(_DOWN_KEY):
        # YNAB just timed out or could not be reached: a page that lists YNAB accounts
        # must not wait for it again on every load.
        raise YnabUnavailable(
            "YNAB did not answer a moment ago. The values shown are the last ones stored; "
            "try again in a minute."
        )
    _spend()
    try:
        response = httpx.get(
            settings.YNAB_BASE_URL + path,
            params=params,
            headers={"Authorization": f"Bearer {settings.YNAB_ACCESS_TOKEN}"},
            timeout=settings.YNAB_TIMEOUT,
        )
    except httpx.TimeoutException:
        log.warning("YNAB timed out on %s", path)
        cache.set(_DOWN_KEY, True, DOWN_SECONDS)
        raise YnabUnavailable(
            f"YNAB did not answer within {settings.YNAB_TIMEOUT:g} seconds. "
            "The values shown are the last ones stored; try again later."
        ) from None
    except httpx.HTTPError as exc:
        log.warning("YNAB unreachable on %s: %s", path, type(exc).__name__)
        cache.set(_DOWN_KEY, True, DOWN_SECONDS)
        raise YnabUnavailable(
            "YNAB could not be reached. The values shown are the last ones stored."
        ) from None
    if response.status_code == 401 or response.status_code == 403:
        log.warning("YNAB refused the token on %s (%s)", path, response.status_code)
        raise YnabUnauthorized(
            "YNAB refused the access token: it may have been revoked or mistyped. "
            "The server's administrator must set a valid YNAB_ACCESS_TOKEN."
        )
    if response.status_code == 404:
        raise YnabNotFound(_not_found_message(path))
    if response.status_code == 429:
        wait = _retry_after(response.headers.get("Retry-After"))
        raise YnabRateLimited(
            f"YNAB has had too many requests from this token. Try again in {_minutes(wait)}.",
            wait,
        )
    if response.status_code != 200:
        log.warning("YNAB answered %s on %s", response.status_code, path)
        raise YnabUnavailable(
            f"YNAB answered with an error ({response.status_code}). "
            "The values shown are the last ones stored; try again later."
        )
    try:
        data = response.json()["data"]
    except (ValueError, KeyError, TypeError):
        raise YnabUnavailable(UNREADABLE) from None
    if not isinstance(data, dict):
        raise YnabUnavailable(UNREADABLE)
    return data


def _retry_after(header: str | None) -> int:
    try:
        return max(1, int(header))
    except (TypeError, ValueError):
        return HOUR  # YNAB's window is an hour


def _not_found_message(path: str) -> str:
    if "/accounts/" in path:
        return "YNAB has no such account in this budget: it may have been deleted."
    return "YNAB has no budget with this id (or the token cannot see it): check it in Settings."


# -- what the app asks ---------------------------------------------------------------------


def budget_currency(budget_id: str) -> str:
    """The budget's currency (ISO code): checks that the budget exists and is readable, so
    it is what a newly saved budget id is validated with. Stored per budget."""
    data = _get(f"/plans/{_segment(budget_id)}/settings")
    currency_format = (data.get("settings") or {}).get("currency_format") or {}
    currency = str(currency_format.get("iso_code") or "").upper()[:3]
    YnabBudgetState.objects.update_or_create(budget_id=budget_id, defaults={"currency": currency})
    cache.set(_currency_key(budget_id), currency, settings.YNAB_CACHE_TTL)
    return currency


def _currency(budget_id: str) -> str:
    currency = cache.get(_currency_key(budget_id))
    if currency is None:
        state = YnabBudgetState.objects.filter(budget_id=budget_id).first()
        currency = state.currency if state and state.currency else budget_currency(budget_id)
        cache.set(_currency_key(budget_id), currency, settings.YNAB_CACHE_TTL)
    return currency


def accounts(budget_id: str, *, fresh: bool = False) -> list[Account]:
    """The budget's accounts (deleted ones left out), from a delta request merged into the
    stored list; reused from the cache for YNAB_CACHE_TTL unless `fresh`."""
    key = _accounts_key(budget_id)
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return [_account(row) for row in cached]
    state = YnabBudgetState.objects.filter(budget_id=budget_id).first()
    params = {}
    if state is not None and state.server_knowledge is not None:
        params["last_knowledge_of_server"] = state.server_knowledge
    data = _get(f"/plans/{_segment(budget_id)}/accounts", params)
    merged = {row["id"]: row for row in (state.accounts if state and params else [])}
    try:
        for row in data["accounts"]:
            if row.get("deleted"):
                merged.pop(str(row["id"]), None)
            else:
                merged[str(row["id"])] = _kept(row)
        knowledge = int(data["server_knowledge"])
    except (KeyError, TypeError, ValueError):
        raise YnabUnavailable(UNREADABLE) from None
    rows = sorted(merged.values(), key=lambda row: (row["closed"], row["name"].lower()))
    YnabBudgetState.objects.update_or_create(
        budget_id=budget_id,
        defaults={"server_knowledge": knowledge, "accounts": rows},
    )
    cache.set(key, rows, settings.YNAB_CACHE_TTL)
    return [_account(row) for row in rows]


def balance(budget_id: str, account_id: str) -> Balance:
    """One account's balance in the budget's currency, reused for YNAB_CACHE_TTL."""
    key = _balance_key(budget_id, account_id)
    cached = cache.get(key)
    if cached is None:
        data = _get(f"/plans/{_segment(budget_id)}/accounts/{_segment(account_id)}")
        try:
            row = data["account"]
            if row.get("deleted"):
                raise YnabNotFound(_not_found_message("/accounts/"))
            cached = {**_kept(row), "as_of": timezone.now().isoformat()}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise YnabUnavailable(UNREADABLE) from None
        cache.set(key, cached, settings.YNAB_CACHE_TTL)
    return Balance(
        account_id=cached["id"],
        name=cached["name"],
        balance=milliunits(cached["balance"]),
        currency=_currency(budget_id),
        as_of=datetime.fromisoformat(cached["as_of"]),
    )


def currency_of(budget_id: str) -> str:
    return _currency(budget_id)


def stored_accounts(budget_id: str) -> list[Account]:
    """The accounts YNAB last listed, without asking it again (for a page while YNAB is
    away)."""
    state = YnabBudgetState.objects.filter(budget_id=budget_id).first()
    return [_account(row) for row in (state.accounts if state else [])]


def _kept(row: dict) -> dict:
    """The fields the app uses, in a shape for the cache and the JSON column."""
    return {
        "id": str(row["id"]),
        "name": str(row["name"]),
        "type": str(row["type"]),
        "balance": int(row["balance"]),
        "closed": bool(row["closed"]),
    }


def _account(row: dict) -> Account:
    return Account(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        balance=milliunits(row["balance"]),
        closed=row["closed"],
    )


def _segment(value: str) -> str:
    """An id as one path segment: nothing typed into an id can walk the URL."""
    return quote(str(value), safe="")


def _accounts_key(budget_id: str) -> str:
    return f"ynab:accounts:{budget_id}"


def _balance_key(budget_id: str, account_id: str) -> str:
    return f"ynab:balance:{budget_id}:{account_id}"


def _currency_key(budget_id: str) -> str:
    return f"ynab:currency:{budget_id}"
