"""Forms for portfolios, transactions and imports. Each one validates both the full-page
POST and the HTMX one, and writes only through portfolios.services."""

from __future__ import annotations

from decimal import Context, Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from financedash.lib.dates import check_entry_date
from financedash.lib.money import (
    ENTERED_MONEY,
    MONEY,
    PRICE,
    QUANTITY,
    DecimalInput,
    decimal_formfield,
)
from marketdata.history import resolve_instrument
from marketdata.providers.base import ProviderUnavailable, UnknownSymbol
from portfolios import services
from portfolios.importers import AUTO, FORMAT_CHOICES
from portfolios.imports import MAX_IMPORT_BYTES
from portfolios.models import CASH_TYPES, Portfolio, Transaction

FORMAT_LABELS = {
    AUTO: _("Detect from the file"),
    "generic": _("Generic CSV (date, type, symbol, quantity, price, …)"),
    "nordnet": _("Nordnet transaction export (Norwegian or Swedish)"),
    "ghostfolio": _("Ghostfolio export (JSON)"),
}


def _apply_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a ValidationError from a service on the form's fields (or the whole form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form: 10.000000 -> 10, not 1E+1."""
    if not value.is_finite():
        return value
    value = value.normalize()
    if value.as_tuple().exponent <= 0:
        return value
    # Enough digits for any stored value, in range or not (the page to fix it must open).
    return value.quantize(Decimal(1), context=Context(prec=value.adjusted() + 1))


def _currency(value: str) -> str:
    return (value or "").strip().upper()


class BenchmarkMixin:
    """A `benchmark` symbol field for a model form whose instance has a `benchmark`
    (a portfolio, the profile): shown as the ticker, resolved through
    services.benchmark_instrument, blank for none."""

    def _init_benchmark(self) -> None:
        self.fields["benchmark"] = forms.CharField(
            label=_("Benchmark"),
            required=False,
            max_length=32,
            help_text=_(
                "An index or any instrument to compare the performance chart with, e.g. "
                "^OSEBX (Oslo Børs) or ^GSPC (S&P 500): the line shows what the same "
                "deposits and withdrawals would have become in it. Empty for none."
            ),
            widget=forms.TextInput(attrs={"autocapitalize": "characters", "class": "short"}),
        )
        current = self.instance.benchmark if self.instance.benchmark_id else None
        if current is not None:
            self.initial.setdefault("benchmark", current.ticker)

    def clean_benchmark(self):
        try:
            instrument = services.benchmark_instrument(self.cleaned_data.get("benchmark"))
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["benchmark"]) from None
        self.instance.benchmark = instrument
        return instrument.ticker if instrument else ""


class PortfolioForm(BenchmarkMixin, forms.ModelForm):
    class Meta:
        formfield_callback = decimal_formfield
        model = Portfolio
        fields = (
            "name",
            "brokerage_firm",
            "currency",
            "description",
            "used_credit",
            "dividends_reduce_cost_basis",
            "kind",
            "track_cash",
        )
        labels = {
            "name": _("Name"),
            "brokerage_firm": _("Brokerage"),
            "currency": _("Currency"),
            "description": _("Description"),
            "used_credit": _("Used credit"),
            "dividends_reduce_cost_basis": _("Dividends reduce the cost basis"),
            "kind": _("Account type"),
            "track_cash": _("Track cash"),
        }
        help_texts = {
            "currency": _("Three-letter code, e.g. NOK. Every figure of the portfolio is in it."),
            "used_credit": _(
                "Money borrowed against the portfolio; it is subtracted from the "
                "net value. With cash tracked, a negative cash balance already counts as credit "
                "in use: leave this at 0 then."
            ),
            "dividends_reduce_cost_basis": _(
                "On: dividends lower the cost basis (the original design). "
                "Off: dividends are income only."
            ),
            "track_cash": _(
                "Keep a cash balance from deposits, withdrawals, trades, dividends, "
                "interest and fees; the value then includes the cash and the returns are the "
                "account's (deposits and withdrawals are the flows). Turning it off keeps the "
                "cash transactions but stops counting them."
            ),
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "currency": forms.TextInput(
                attrs={"maxlength": 3, "autocapitalize": "characters", "class": "short"}
            ),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["kind"].required = False
        self._init_benchmark()
        if self.instance.pk and self.instance.transactions.exists():
            # Every stored exchange rate converts into the portfolio's currency: changing it
            # would silently misstate all of them.
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = _(
                "Fixed once the portfolio has transactions: their exchange rates convert into it."
            )

    def clean_currency(self) -> str:
        return _currency(self.cleaned_data["currency"])

    def clean_kind(self) -> str:
        # Left out (an older form, a script), the account keeps its type.
        return self.cleaned_data.get("kind") or self.instance.kind or Portfolio.Kind.ORDINARY

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        services.check_portfolio_name(self.user.pk, name, self.instance.pk)
        return name

    def save(self, commit: bool = True) -> Portfolio | None:
        portfolio = super().save(commit=False)
        portfolio.user = self.user
        try:
            return services.save_portfolio(portfolio)
        except ValidationError as exc:
            _apply_errors(self, exc)
        return None


class UsedCreditForm(forms.ModelForm):
    class Meta:
        formfield_callback = decimal_formfield
        model = Portfolio
        fields = ("used_credit",)
        labels = {"used_credit": _("Used credit")}

    def save(self, commit: bool = True) -> Portfolio | None:
        try:
            return services.save_portfolio(super().save(commit=False))
        except ValidationError as exc:
            _apply_errors(self, exc)
        return None


class TransactionForm(forms.Form):
    """One form for adding and editing a transaction, on its own page or inline.

    The symbol is resolved through the market data (an unknown one is a field error; its
    currency lets a symbol the provider does not know be added by hand), an empty exchange
    rate is the rate of the day (services.exchange_rate_for; none anywhere is an error on
    that field, which the template then shows), and the change is replayed through the
    ledger before saving, so that an oversell is an error on quantity rather than a failed
    save. Numbers are read as people type them (money.parse_decimal: 440,50 is 440.50).
    """

    symbol = forms.CharField(
        label=_("Ticker"),
        max_length=32,
        help_text=_("Yahoo symbol, e.g. EQNR.OL or AAPL. Type to search."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "role": "combobox",
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "hx-get": reverse_lazy("portfolios:instrument_search"),
                "hx-trigger": "input changed delay:300ms",
                # Explicit: the form around it swaps outerHTML, which would be inherited.
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
                "data-combobox": "",
            }
        ),
    )
    # Cash has its own form (CashForm): no instrument, an amount. A split's quantity is its
    # factor: the choice says so where it is made.
    type = forms.ChoiceField(
        choices=[
            (value, _("Split (quantity: new shares per old share)") if value == "SPLIT" else label)
            for value, label in Transaction.Type.choices
            if value not in CASH_TYPES
        ],
        initial=Transaction.Type.BUY,
        label=_("Type"),
    )
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    quantity = DecimalInput(
        **QUANTITY,
        label=_("Quantity"),
        min_value=Decimal("0.000001"),
        help_text=_(
            "Shares (for a dividend: the shares paid on; for a split: new shares per "
            "old share, e.g. 2 for a 2-for-1 split, 0.1 for 1-for-10)."
        ),
    )
    # Not required: a split has none (services.check_split); clean() asks for it otherwise.
    price = DecimalInput(
        **PRICE,
        label=_("Price"),
        min_value=0,
        required=False,
        help_text=_("Per share, in the instrument's currency (a split: leave empty or 0)."),
    )
    fees = DecimalInput(
        **MONEY,
        label=_("Fees"),
        min_value=0,
        required=False,
        initial=0,
        help_text=_("Commission (dividends: tax withheld), in the portfolio's currency."),
    )
    # Any number of decimals: the services round a rate to the stored precision.
    exchange_rate = DecimalInput(
        label=_("Exchange rate"),
        required=False,
        help_text=_(
            "Portfolio-currency units per unit of the instrument's currency. Leave "
            "empty for the rate of the day."
        ),
    )
    currency = forms.CharField(
        label=_("Instrument currency"),
        max_length=3,
        required=False,
        help_text=_("Only for a symbol the market data does not know: the currency it trades in."),
        widget=forms.TextInput(attrs={"maxlength": 3, "autocapitalize": "characters"}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    # Fields shown behind "More" unless they carry a value or an error.
    EXTRA_FIELDS = ("exchange_rate", "currency", "notes")

    def __init__(self, *args, portfolio: Portfolio, instance: Transaction | None = None, **kw):
        if instance is not None and "initial" not in kw:
            kw["initial"] = {
                "symbol": instance.holding.instrument.ticker,
                "type": instance.type,
                "date": instance.date,
                "quantity": _plain(instance.quantity),
                "price": _plain(instance.price),
                "fees": _plain(instance.fees),
                "exchange_rate": _plain(instance.exchange_rate),
                "notes": instance.notes,
            }
        super().__init__(*args, **kw)
        self.portfolio = portfolio
        self.instance = instance
        self.instrument = None
        if instance is None:
            self.fields["date"].initial = timezone.localdate
        listbox = f"{self['symbol'].auto_id or 'symbol'}_listbox"
        self.fields["symbol"].widget.attrs.update(
            {"aria-controls": listbox, "hx-target": f"#{listbox}"}
        )

    @property
    def show_extra(self) -> bool:
        """Whether the optional fields start open: they hold a value, or an error."""
        if any(self.errors.get(name) for name in self.EXTRA_FIELDS):
            return True
        if self.instance is not None:
            return self.instance.exchange_rate != 1 or bool(self.instance.notes)
        return any(self.data.get(self.add_prefix(name)) for name in self.EXTRA_FIELDS)

    def clean_symbol(self) -> str:
        return self.cleaned_data["symbol"].strip().upper()

    def clean_currency(self) -> str:
        return _currency(self.cleaned_data["currency"])

    def clean_date(self):
        day = self.cleaned_data["date"]
        check_entry_date(day, field=None)
        return day

    def clean(self):
        data = super().clean()
        if data.get("price") is None and "price" not in self.errors:
            if data.get("type") == Transaction.Type.SPLIT:
                data["price"] = Decimal(0)
            else:
                self.add_error("price", forms.Field.default_error_messages["required"])
        symbol = data.get("symbol")
        if not symbol:
            return data
        try:
            self.instrument = resolve_instrument(symbol, currency=data.get("currency") or None)
        except UnknownSymbol as exc:
            self.add_error(
                "symbol", f"{exc} " + gettext("If it is right, give its currency below.")
            )
            return data
        except ProviderUnavailable:
            self.add_error(
                "symbol",
                gettext(
                    "The market data is unavailable, so %(symbol)s cannot be looked up. "
                    "Try again later."
                )
                % {"symbol": symbol},
            )
            return data
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                name = "currency" if data.get("currency") else "symbol"
                self.add_error(name, messages)
            return data
        if data.get("date") is None:
            return data
        if self.errors or any(data.get(f) is None for f in ("type", "quantity", "price")):
            return data
        values = {
            name: data[name]
            for name in ("type", "date", "quantity", "price", "fees", "exchange_rate")
        }
        values["fees"] = values["fees"] or Decimal(0)
        try:
            services.check_change(
                services.Change(self.portfolio, self.instrument, values, self.instance)
            )
        except ValidationError as exc:
            _apply_errors(self, exc)
        else:
            # The rate the services settled (of the day, or rounded): saved as checked.
            data["exchange_rate"] = values["exchange_rate"]
        return data

    def save(self) -> Transaction | None:
        """Record or update through the ledger; on a rejection (another change got in
        between the check and the lock) the errors land on the form and None is returned."""
        values = {
            name: self.cleaned_data[name]
            for name in ("type", "date", "quantity", "price", "exchange_rate", "notes")
        }
        values["fees"] = self.cleaned_data["fees"] or Decimal(0)
        try:
            if self.instance is None:
                return services.record_transaction(
                    portfolio=self.portfolio, instrument=self.instrument, **values
                )
            return services.update_transaction(self.instance, instrument=self.instrument, **values)
        except ValidationError as exc:
            _apply_errors(self, exc)
        return None


class CashForm(forms.Form):
    """A deposit, withdrawal, interest or fee: added on the portfolio page of a portfolio
    that tracks cash, or edited. The rules (a portfolio that tracks cash, amount > 0 in
    whole cents, the date) are the services'; their errors land on the fields."""

    type = forms.ChoiceField(
        choices=[c for c in Transaction.Type.choices if c[0] in CASH_TYPES],
        initial=Transaction.Type.DEPOSIT,
        label=_("Type"),
    )
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = DecimalInput(
        **ENTERED_MONEY,
        label=_("Amount"),
        help_text=_("In the portfolio's currency, greater than 0: the type gives the direction."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, portfolio: Portfolio, instance: Transaction | None = None, **kw):
        if instance is not None and "initial" not in kw:
            kw["initial"] = {
                "type": instance.type,
                "date": instance.date,
                "amount": _plain(instance.total_amount),
                "notes": instance.notes,
            }
        super().__init__(*args, **kw)
        self.portfolio = portfolio
        self.instance = instance
        if instance is None:
            self.fields["date"].initial = timezone.localdate

    def clean_date(self):
        day = self.cleaned_data["date"]
        check_entry_date(day, field=None)
        return day

    def save(self) -> Transaction | None:
        values = {name: self.cleaned_data[name] for name in ("type", "date", "amount", "notes")}
        try:
            if self.instance is None:
                return services.record_transaction(portfolio=self.portfolio, **values)
            return services.update_transaction(self.instance, **values)
        except ValidationError as exc:
            _apply_errors(self, exc)
        return None


class ImportForm(forms.Form):
    portfolio = forms.ModelChoiceField(
        queryset=Portfolio.objects.none(), empty_label=None, label=_("Portfolio")
    )
    format = forms.ChoiceField(
        choices=[(name, FORMAT_LABELS.get(name, name)) for name in FORMAT_CHOICES],
        initial=AUTO,
        required=False,
        label=_("Format"),
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV, the broker's export file or a Ghostfolio export, up to 5 MiB."),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.txt,.tsv,.json,text/csv,application/json"}
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portfolio"].queryset = Portfolio.objects.owned_by(user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(
                gettext("The file is %(size)d KiB; the limit is %(limit)d KiB.")
                % {"size": upload.size // 1024, "limit": MAX_IMPORT_BYTES // 1024}
            )
        return upload

    def clean_format(self):
        return self.cleaned_data.get("format") or AUTO


class TransactionFilterForm(forms.Form):
    """The transaction list's filters (a GET form). A value that does not parse is shown as
    the field's error and left out of the filter, so a hand-edited URL still lists."""

    type = forms.ChoiceField(
        choices=[("", _("All types")), *Transaction.Type.choices], required=False, label=_("Type")
    )
    symbol = forms.CharField(required=False, max_length=32, label=_("Symbol"))
    start = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_symbol(self) -> str:
        return "".join(self.cleaned_data["symbol"].upper().split())

    def filters(self) -> dict:
        """The valid filters, by name: what the list, the export link and the export apply."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}

    def apply(self, transactions):
        wanted = self.filters()
        if "type" in wanted:
            transactions = transactions.filter(type=wanted["type"])
        if "symbol" in wanted:
            # Part of the symbol is enough: EQNR finds EQNR.OL.
            transactions = transactions.filter(
                holding__instrument__ticker__contains=wanted["symbol"]
            )
        if "start" in wanted:
            transactions = transactions.filter(date__gte=wanted["start"])
        if "end" in wanted:
            transactions = transactions.filter(date__lte=wanted["end"])
        return transactions
