"""GET /api/v1/transactions/export and GET/POST /api/v1/backup (ARCHITECTURE section 7)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from financedash import backup
from financedash.lib.profiles import profile_for
from marketdata.models import Instrument
from pensions.models import PensionAccount
from portfolios.models import ImportBatch, Portfolio, Transaction
from tests.api.conftest import assert_error
from tests.conftest import bearer
from tests.factories import (
    InstrumentFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    UserFactory,
    record,
)

D = Decimal
pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/transactions/export"
BACKUP = "/api/v1/backup"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(
        user=owner,
        name="Nordnet ASK",
        currency="NOK",
        kind="ask",
        brokerage_firm="Nordnet",
        used_credit=D("2500.50"),
    )


@pytest.fixture
def ledger(portfolio):
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    aapl = InstrumentFactory(ticker="AAPL", currency="USD")
    return [
        record(portfolio, eqnr, quantity="10", price="352.10", fees="49", notes="first, lot"),
        record(
            portfolio,
            aapl,
            quantity="5",
            price="172.5",
            fees="15",
            exchange_rate="10.482",
            date=dt.date(2024, 3, 15),
        ),
        record(
            portfolio,
            aapl,
            "DIVIDEND",
            quantity="5",
            price="0.24",
            fees="0.18",
            exchange_rate="10.7",
            date=dt.date(2024, 5, 16),
        ),
        record(
            portfolio, eqnr, "SELL", quantity="4", price="301", fees="49", date=dt.date(2024, 6, 3)
        ),
    ]


# -- export --------------------------------------------------------------------------------


def test_export_is_the_generic_csv_oldest_first(api, portfolio, ledger):
    response = api.get(EXPORT, {"portfolio": portfolio.pk, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(
        'attachment; filename="transactions-nordnet-ask-'
    )
    assert response.content.decode().splitlines() == [
        "date,type,symbol,quantity,price,fees,currency,exchange_rate,amount,notes",
        '2024-01-02,BUY,EQNR.OL,10,352.1,49,NOK,1,,"first, lot"',
        "2024-03-15,BUY,AAPL,5,172.5,15,USD,10.482,,",
        "2024-05-16,DIVIDEND,AAPL,5,0.24,0.18,USD,10.7,,",
        "2024-06-03,SELL,EQNR.OL,4,301,49,NOK,1,,",
    ]


def test_export_of_everything_and_filtered(api, owner, portfolio, ledger):
    other = PortfolioFactory(user=owner, name="Other", currency="NOK")
    record(
        other,
        InstrumentFactory(ticker="DNB.OL"),
        quantity="1",
        price="200",
        date=dt.date(2024, 7, 1),
    )
    everything = api.get(EXPORT).content.decode().splitlines()
    assert len(everything) == 1 + 5
    sells = api.get(EXPORT, {"portfolio": portfolio.pk, "type": "SELL"}).content.decode()
    assert sells.splitlines()[1:] == ["2024-06-03,SELL,EQNR.OL,4,301,49,NOK,1,,"]
    aapl = api.get(EXPORT, {"symbol": "AAP", "start": "2024-05-01"}).content.decode()
    assert [line.split(",")[1] for line in aapl.splitlines()[1:]] == ["DIVIDEND"]


def test_export_writes_cash_rows_with_their_amount(api, portfolio):
    Transaction.objects.create(
        portfolio=portfolio,
        type="DEPOSIT",
        date=dt.date(2024, 1, 1),
        quantity=0,
        price=0,
        total_amount=D("10000.5"),
    )
    lines = api.get(EXPORT, {"portfolio": portfolio.pk}).content.decode().splitlines()
    assert lines[1] == "2024-01-01,DEPOSIT,,,,,,,10000.5,"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"portfolio": "x"}, "portfolio"),
        ({"start": "2024-13-01"}, "start"),
        ({"type": "GIFT"}, "type"),
    ],
)
def test_export_refuses_bad_parameters(api, portfolio, query, field):
    error = assert_error(api.get(EXPORT, query), 400, "validation_error")
    assert field in error["details"]


def test_export_of_another_users_portfolio_is_404(outsider_api, portfolio, ledger):
    assert_error(outsider_api.get(EXPORT, {"portfolio": portfolio.pk}), 404)
    # Without a portfolio: the outsider's own (none), never the owner's.
    assert outsider_api.get(EXPORT).content.decode().splitlines()[1:] == []


def test_export_needs_a_login(anon_api):
    assert_error(anon_api.get(EXPORT), 401)


# -- backup --------------------------------------------------------------------------------


@pytest.fixture
def household(owner, portfolio, ledger):
    profile = profile_for(owner)
    profile.retirement_goal_amount = D("8000000")
    profile.retirement_goal_year = 2050
    profile.save()
    batch = ImportBatch.objects.create(
        user=owner,
        portfolio=portfolio,
        file_name="nordnet.csv",
        format="nordnet",
        counts={"created": 1},
    )
    Transaction.objects.filter(pk=ledger[1].pk).update(import_batch=batch, import_key="k1")
    account = PensionAccountFactory(user=owner, name="IPS", currency="NOK", kind="ips")
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=D("100000"))
    PensionValueEntryFactory(
        account=account, date=dt.date(2024, 6, 30), value=D("112345.67"), contribution=D("15000")
    )
    return portfolio


def test_backup_holds_what_was_entered(api, household, ledger):
    response = api.get(BACKUP)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.json()
    assert body["format"] == "financedash-backup"
    assert body["version"] == 1
    assert body["profile"] == {
        "base_currency": "NOK",
        "retirement_goal_amount": "8000000",
        "retirement_goal_year": 2050,
        "ynab_budget_id": None,
        "dividends_reduce_cost_basis": True,
        "benchmark": None,
    }
    (portfolio,) = body["portfolios"]
    assert {k: v for k, v in portfolio.items() if k not in ("transactions", "import_batches")} == {
        "name": "Nordnet ASK",
        "description": "",
        "brokerage_firm": "Nordnet",
        "currency": "NOK",
        "kind": "ask",
        "track_cash": False,
        "used_credit": "2500.5",
        "dividends_reduce_cost_basis": True,
        "benchmark": None,
    }
    assert portfolio["import_batches"][0]["file_name"] == "nordnet.csv"
    assert portfolio["transactions"][1] == {
        "type": "BUY",
        "date": "2024-03-15",
        "symbol": "AAPL",
        "currency": "USD",
        "quantity": "5",
        "price": "172.5",
        "fees": "15",
        "exchange_rate": "10.482",
        "notes": "",
        "import_key": "k1",
        "import_batch": 0,
    }
    # Nothing derived: the replay computes it again on restore.
    assert "total_amount" not in portfolio["transactions"][0]
    assert body["pension_accounts"] == [
        {
            "name": "IPS",
            "currency": "NOK",
            "kind": "ips",
            "ynab_account_id": None,
            "values": [
                {"date": "2024-01-31", "value": "100000", "contribution": None},
                {"date": "2024-06-30", "value": "112345.67", "contribution": "15000"},
            ],
        }
    ]


def test_restore_into_a_new_account_reproduces_everything(api, household):
    document = api.get(BACKUP).json()
    newcomer = UserFactory(username="newcomer")
    client = bearer(newcomer)
    response = client.post(BACKUP, document, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {
        "portfolios": 1,
        "transactions": 4,
        "import_batches": 1,
        "pension_accounts": 1,
        "pension_values": 2,
        "closes": 0,
        "rates": 0,
        "market_data_skipped": True,  # not staff: shared prices are not theirs to write
    }
    restored = Portfolio.objects.get(user=newcomer)
    assert restored.kind == "ask" and restored.used_credit == D("2500.50")
    batch = ImportBatch.objects.get(portfolio=restored)
    assert list(batch.transactions.values_list("import_key", flat=True)) == ["k1"]
    assert batch.created_at == ImportBatch.objects.get(portfolio=household).created_at
    assert profile_for(newcomer).retirement_goal_year == 2050
    original = client_figures(api, household)
    assert client_figures(client, restored) == original
    again = client.get(BACKUP).json()
    assert {**again, "created_at": None} == {**document, "created_at": None}


def client_figures(client, portfolio) -> dict:
    body = client.get(f"/api/v1/portfolios/{portfolio.pk}").json()
    body.pop("id")
    for holding in body["holdings"]:
        holding.pop("id")
    return body


def test_restore_takes_an_uploaded_file(owner, household):
    document = json.dumps(backup.dump(owner)).encode()
    newcomer = UserFactory(username="newcomer")
    upload = io.BytesIO(document)
    upload.name = "backup.json"
    response = bearer(newcomer).post(BACKUP, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content


def test_restore_into_an_account_with_portfolios_is_409(api, household):
    document = api.get(BACKUP).json()
    error = assert_error(api.post(BACKUP, document, format="json"), 409, "account_not_empty")
    assert "without portfolios" in error["message"]
    assert Portfolio.objects.count() == 1


def test_restore_names_every_bad_path_and_saves_nothing(owner, household):
    document = backup.dump(owner)
    document["portfolios"][0]["transactions"][1]["quantity"] = "many"
    document["portfolios"][0]["transactions"][3]["date"] = "2024-02-30"
    document["pension_accounts"][0]["values"][0]["value"] = "1.234"
    newcomer = UserFactory(username="newcomer")
    error = assert_error(
        bearer(newcomer).post(BACKUP, document, format="json"), 400, "invalid_backup"
    )
    assert set(error["details"]) == {
        "portfolios[0].transactions[1].quantity",
        "portfolios[0].transactions[3].date",
        "pension_accounts[0].values[0].value",
    }
    assert error["message"].startswith(
        "Nothing was restored: portfolios[0].transactions[1].quantity"
    )
    assert not Portfolio.objects.filter(user=newcomer).exists()


def test_a_ledger_error_is_named_by_its_path_and_rolls_everything_back(owner, household):
    """An oversell found by the services' replay: selling 40 EQNR when 10 were bought."""
    document = backup.dump(owner)
    document["portfolios"][0]["transactions"][3]["quantity"] = "40"
    document["portfolios"].insert(
        0,
        {
            **document["portfolios"][0],
            "name": "A first one",
            "transactions": [],
            "import_batches": [],
        },
    )
    newcomer = UserFactory(username="newcomer")
    error = assert_error(bearer(newcomer).post(BACKUP, document, format="json"), 400)
    assert list(error["details"]) == ["portfolios[1].transactions[3].quantity"]
    assert "only 10 held" in error["details"]["portfolios[1].transactions[3].quantity"][0]
    # The first portfolio and the pension account were written, then rolled back.
    assert not Portfolio.objects.filter(user=newcomer).exists()
    assert not PensionAccount.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"version": 2}, "version"),
        ({"format": "ghostfolio"}, "format"),
        ({"portfolios": "none"}, "portfolios"),
    ],
)
def test_restore_refuses_another_format_or_version(owner, household, change, path):
    document = {**backup.dump(owner), **change}
    newcomer = UserFactory(username="newcomer")
    error = assert_error(bearer(newcomer).post(BACKUP, document, format="json"), 400)
    assert list(error["details"]) == [path]


def test_a_bad_batch_reference_is_named(owner, household):
    document = backup.dump(owner)
    document["portfolios"][0]["transactions"][0]["import_batch"] = 3
    newcomer = UserFactory(username="newcomer")
    error = assert_error(bearer(newcomer).post(BACKUP, document, format="json"), 400)
    assert list(error["details"]) == ["portfolios[0].transactions[0].import_batch"]


def test_cash_rows_restore_with_the_portfolios_cash(owner, household):
    """A deposit in the backup is restored, and the cash balance recomputed from it."""
    document = backup.dump(owner)
    document["portfolios"][0]["track_cash"] = True
    document["portfolios"][0]["transactions"].insert(
        0, {"type": "DEPOSIT", "date": "2024-01-01", "amount": "100000"}
    )
    newcomer = UserFactory(username="newcomer")
    response = bearer(newcomer).post(BACKUP, document, format="json")
    assert response.status_code == 201, response.content
    restored = Portfolio.objects.get(user=newcomer)
    # 100,000 - (10 x 352.10 + 49 = 3,570) - (5 x 172.5 x 10.482 + 15 = 9,055.73 booked)
    # + (5 x 0.24 x 10.7 - 0.18 = 12.66) + (4 x 301 - 49 = 1,155) = 88,541.93
    assert restored.cash_balance == D("88541.93")
    again = backup.dump(newcomer)["portfolios"][0]["transactions"][0]
    assert again["type"] == "DEPOSIT" and again["amount"] == "100000"


def test_a_staff_restore_into_a_fresh_database_brings_the_market_data(api, household):
    """QA: prices entered by hand (or not available from the provider) were lost: a restore
    into a fresh installation valued the holding at nothing. The backup carries the closes
    of the user's instruments and the rates between their currencies; the owner (staff)
    restores the days the database lacks, never overwriting it."""
    from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice

    eqnr = HistoricalStockPrice.objects.create(
        instrument=Instrument.objects.get(ticker="EQNR.OL"),
        date=dt.date(2024, 6, 28),
        close=D("280.5"),
    )
    HistoricalExchangeRate.objects.create(
        base_currency="USD", target_currency="NOK", date=dt.date(2024, 6, 28), rate=D("10.61")
    )
    document = api.get(BACKUP).json()
    closes = {entry["symbol"]: entry["prices"] for entry in document["market_data"]["closes"]}
    assert ["2024-06-28", "280.5"] in closes["EQNR.OL"]
    rates = {(r["base"], r["target"]): r["rates"] for r in document["market_data"]["rates"]}
    assert ["2024-06-28", "10.61"] in rates[("USD", "NOK")]
    original = client_figures(api, household)
    # A fresh database: none of the market data, and another owner.
    HistoricalStockPrice.objects.all().delete()
    HistoricalExchangeRate.objects.all().delete()
    staff = UserFactory(username="fresh-owner", is_staff=True)
    response = bearer(staff).post(BACKUP, document, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["market_data_skipped"] is False and body["closes"] >= 1 and body["rates"] >= 1
    assert HistoricalStockPrice.objects.get(date=dt.date(2024, 6, 28)).close == eqnr.close
    restored = Portfolio.objects.get(user=staff)
    assert client_figures(bearer(staff), restored) == original


def test_a_restore_never_overwrites_stored_market_data(api, household):
    from marketdata.models import HistoricalStockPrice

    instrument = Instrument.objects.get(ticker="EQNR.OL")
    HistoricalStockPrice.objects.create(
        instrument=instrument, date=dt.date(2024, 6, 28), close=D("280.5")
    )
    document = api.get(BACKUP).json()
    HistoricalStockPrice.objects.filter(instrument=instrument).update(close=D("300"))
    staff = UserFactory(username="fresh-owner", is_staff=True)
    assert bearer(staff).post(BACKUP, document, format="json").status_code == 201
    assert HistoricalStockPrice.objects.get(instrument=instrument).close == D("300")


def test_backup_is_only_ones_own(outsider_api, household):
    body = outsider_api.get(BACKUP).json()
    assert body["portfolios"] == [] and body["pension_accounts"] == []


def test_backup_needs_a_login(anon_api):
    assert_error(anon_api.get(BACKUP), 401)
    assert_error(anon_api.post(BACKUP, {}, format="json"), 401)


def test_export_data_and_import_data_commands(owner, household, tmp_path):
    path = tmp_path / "backup.json"
    call_command("export_data", owner.username, output=str(path))
    out = io.StringIO()
    call_command("import_data", "restored", str(path), create_user=True, stdout=out)
    assert "Restored 1 portfolios, 4 transactions" in out.getvalue()
    with pytest.raises(CommandError, match="without portfolios"):
        call_command("import_data", "restored", str(path))


def test_a_failed_import_data_leaves_no_user_behind(owner, household, tmp_path):
    # QA: `import_data --create-user ivan bad.json` failed and left ivan created.
    from django.contrib.auth import get_user_model

    document = backup.dump(owner)
    document["portfolios"][0]["currency"] = "nope"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, default=str))
    with pytest.raises(CommandError, match="Nothing was restored"):
        call_command("import_data", "ivan", str(path), create_user=True)
    assert not get_user_model().objects.filter(username="ivan").exists()


def test_a_backup_larger_than_the_usual_body_limit_is_read(owner, household, settings):
    """A household's backup is more than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) of JSON: the
    endpoint reads its own body, up to backup.MAX_BYTES."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    document = backup.dump(owner)
    document["portfolios"][0]["description"] = "x" * 5000
    newcomer = UserFactory(username="newcomer")
    response = bearer(newcomer).post(BACKUP, document, format="json")
    assert response.status_code == 201, response.content
    assert Portfolio.objects.get(user=newcomer).description == "x" * 5000


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b""])
def test_a_body_that_is_not_a_backup_object(body):
    newcomer = UserFactory(username="newcomer")
    response = bearer(newcomer).post(BACKUP, body, content_type="application/json")
    assert_error(response, 400, "invalid_backup")


def test_a_repeated_import_key_is_named(owner, household):
    document = backup.dump(owner)
    document["portfolios"][0]["transactions"][3]["import_key"] = "k1"  # as transactions[1]
    newcomer = UserFactory(username="newcomer")
    error = assert_error(bearer(newcomer).post(BACKUP, document, format="json"), 400)
    assert error["details"] == {
        "portfolios[0].transactions[3].import_key": ["The same import key as transactions[1]."]
    }


def test_the_benchmarks_are_backed_up_and_restored(api, owner, household):
    osebx = InstrumentFactory(ticker="^OSEBX")
    household.benchmark = osebx
    household.save()
    profile = profile_for(owner)
    profile.benchmark = osebx
    profile.save()
    document = api.get(BACKUP).json()
    assert document["profile"]["benchmark"] == "^OSEBX"
    assert document["portfolios"][0]["benchmark"] == "^OSEBX"
    # One the market data does not know (any more) is left out, not a refused restore.
    document["profile"]["benchmark"] = "GONE.XX"
    newcomer = UserFactory(username="newcomer")
    response = bearer(newcomer).post(BACKUP, document, format="json")
    assert response.status_code == 201, response.content
    assert Portfolio.objects.get(user=newcomer).benchmark == osebx
    assert profile_for(newcomer).benchmark is None
