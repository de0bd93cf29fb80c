from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from financedash.lib.dates import check_entry_date
from financedash.lib.money import DecimalInput, decimal_formfield
from financedash.lib.profiles import profile_for
from pensions import paste, planning, services, ynab
from pensions.models import PensionAccount, PensionValueEntry


class PensionAccountForm(forms.ModelForm):
    class Meta:
        model = PensionAccount
        fields = ("name", "kind", "currency", "ynab_account_id")
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "currency": _("Currency"),
            "ynab_account_id": _("YNAB account id"),
        }
        help_texts = {
            "currency": _("Three-letter code, e.g. NOK."),
            "ynab_account_id": _("Optional: the YNAB account that tracks this pension."),
        }
        widgets = {
            "currency": forms.TextInput(
                attrs={"maxlength": 3, "autocapitalize": "characters", "class": "short"}
            ),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["kind"].required = False  # "other" when left out
        if not self.instance.pk:
            self.fields["currency"].initial = _base_currency(user)
        self._offer_ynab_accounts()

    def _offer_ynab_accounts(self) -> None:
        """A dropdown of the budget's YNAB accounts when YNAB is set up; the plain id field
        (with the reason) when it cannot be listed."""
        budget_id = profile_for(self.user).ynab_budget_id
        if not ynab.configured() or not budget_id:
            return
        field = self.fields["ynab_account_id"]
        help_text = gettext("The sync stores this account's balance as today's value.")
        try:
            found = ynab.accounts(budget_id)
        except ynab.YnabError as exc:
            found = ynab.stored_accounts(budget_id)
            help_text = gettext("%(help)s (YNAB could not be asked now: %(reason)s)") % {
                "help": field.help_text,
                "reason": exc.message,
            }
            field.help_text = help_text
            if not found:
                return
        closed = gettext(" (closed)")
        choices = [("", gettext("None"))] + [
            (a.id, f"{a.name}{closed if a.closed else ''}") for a in found
        ]
        current = self.instance.ynab_account_id
        if current and current not in {a.id for a in found}:
            choices.append((current, gettext("%(id)s (not in the budget now)") % {"id": current}))
        field.widget = forms.Select(choices=choices)
        field.label = gettext("YNAB account")
        field.help_text = help_text

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or PensionAccount.Kind.OTHER

    def clean_ynab_account_id(self) -> str | None:
        return (self.cleaned_data["ynab_account_id"] or "").strip() or None

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = PensionAccount.objects.owned_by(self.user).filter(name=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(
                gettext("You already have a pension account named %(name)r.") % {"name": name}
            )
        return name

    def save(self, commit: bool = True) -> PensionAccount:
        account = super().save(commit=False)
        account.user = self.user
        return services.save_account(account)


def _base_currency(user) -> str:
    return profile_for(user).base_currency


class PensionValueForm(forms.ModelForm):
    """A value on a date, by the rules of pensions.services (a date that has a value
    already is an error on the date, never a silent replacement)."""

    class Meta:
        formfield_callback = decimal_formfield
        model = PensionValueEntry
        fields = ("date", "value", "contribution")
        labels = {"date": _("Date"), "value": _("Value"), "contribution": _("Contribution")}
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, account: PensionAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["date"].initial = timezone.localdate
        self.fields["value"].help_text = gettext("In %(currency)s, as the statement shows it.") % {
            "currency": account.currency
        }

    def clean_date(self):
        day = self.cleaned_data["date"]
        check_entry_date(day, field=None)
        return day

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("date") is not None and data.get("value") is not None:
            try:
                services.check_value(
                    self.account,
                    data["date"],
                    data["value"],
                    contribution=data.get("contribution"),
                )
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    self.add_error(name, messages)
        return data

    def validate_unique(self):
        # The service checks (account, date), naming the date and the value it has.
        pass

    def save(self, commit: bool = True) -> PensionValueEntry | None:
        try:
            return services.record_value(
                self.account,
                date=self.cleaned_data["date"],
                value=self.cleaned_data["value"],
                contribution=self.cleaned_data.get("contribution"),
            )
        except ValidationError as exc:  # another request took the date meanwhile
            for name, messages in exc.message_dict.items():
                self.add_error(name, messages)
        return None


class PasteValuesForm(forms.Form):
    """Many values at once, as lines of `date value` pasted from a spreadsheet or a bank
    export: all saved, or none with every line's reason (`line_errors`)."""

    lines = forms.CharField(
        label=_("Paste many values"),
        max_length=200_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_(
            "One value a line: a date and a value, e.g. 31.01.2024 1 234 567,89 or "
            "2024-01-31 1234567.89; columns may be separated by tabs or semicolons, and a "
            "third column is the contribution."
        ),
    )

    def __init__(self, *args, account: PensionAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.rows: list[paste.Row] = []
        self.line_errors: list[paste.LineError] = []

    def clean(self):
        data = super().clean()
        if "lines" not in data:
            return data
        self.rows, errors = paste.parse_lines(data["lines"])
        errors += services.check_values(self.account, self.rows)
        self.line_errors = sorted(errors, key=lambda e: e.line)
        if not self.rows and not errors:
            self.add_error("lines", gettext("Paste at least one line with a date and a value."))
        elif self.line_errors:
            self.add_error("lines", _refused(self.line_errors))
        return data

    def save(self) -> list[PensionValueEntry] | None:
        try:
            return services.record_values(self.account, self.rows)
        except services.ValuesRefused as exc:  # a date taken by another request meanwhile
            self.line_errors = exc.errors
            self.add_error("lines", _refused(exc.errors))
        return None


def _refused(errors) -> str:
    return ngettext(
        "Nothing was saved: %(count)d line to fix (listed below).",
        "Nothing was saved: %(count)d lines to fix (listed below).",
        len(errors),
    ) % {"count": len(errors)}


HUNDRED = Decimal(100)


def _percent(label: str, help_text: str, **kwargs) -> forms.DecimalField:
    return DecimalInput(label=label, help_text=help_text, max_digits=8, decimal_places=4, **kwargs)


class ProjectionForm(forms.Form):
    """The projection page's inputs (a GET form): rates in percent, as people say them."""

    return_percent = _percent(
        _("Expected return (% a year)"),
        _("After costs. 5 is a common long-run guess for a mixed fund."),
        min_value=Decimal("-99"),
        max_value=HUNDRED,
    )
    contribution = DecimalInput(
        label=_("Monthly contribution"),
        help_text=_("Saved at the end of every month, in your base currency."),
        max_digits=15,
        decimal_places=2,
        min_value=0,
    )
    year = forms.IntegerField(label=_("Retire in (year)"), min_value=1900, max_value=2200)
    inflation_percent = _percent(
        _("Inflation (% a year)"),
        _("For the values in today's money."),
        min_value=Decimal("-50"),
        max_value=HUNDRED,
    )
    volatility_percent = _percent(
        _("Volatility (% a year)"),
        _("How much returns swing; 0 for no range. About 15 for a stock fund."),
        min_value=0,
        max_value=200,
        required=False,
    )
    include_portfolios = forms.BooleanField(label=_("Count the portfolios too"), required=False)

    def inputs(self) -> planning.Inputs:
        data = self.cleaned_data
        return planning.Inputs(
            annual_return=data["return_percent"] / HUNDRED,
            monthly_contribution=data["contribution"],
            retirement_year=data["year"],
            inflation=data["inflation_percent"] / HUNDRED,
            volatility=(data["volatility_percent"] or Decimal(0)) / HUNDRED or None,
            include_portfolios=data["include_portfolios"],
        )

    FIELDS = {
        "annual_return": "return_percent",
        "monthly_contribution": "contribution",
        "retirement_year": "year",
        "inflation": "inflation_percent",
        "volatility": "volatility_percent",
    }

    def add_projection_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.add_error(self.FIELDS.get(name), message)
