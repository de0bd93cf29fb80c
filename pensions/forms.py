from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from financedash.accounts import profile_for
from financedash.dates import check_entry_date
from financedash.money import decimal_formfield
from pensions import services
from pensions.models import PensionAccount, PensionValueEntry


class PensionAccountForm(forms.ModelForm):
    class Meta:
        model = PensionAccount
        fields = ("name", "kind", "currency", "ynab_account_id")
        labels = {"ynab_account_id": "YNAB account id"}
        help_texts = {
            "currency": "Three-letter code, e.g. NOK.",
            "ynab_account_id": "Optional: the YNAB account that tracks this pension.",
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
            raise ValidationError(f"You already have a pension account named {name!r}.")
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
        fields = ("date", "value")
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, account: PensionAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["date"].initial = timezone.localdate
        self.fields["value"].help_text = f"In {account.currency}, as the statement shows it."

    def clean_date(self):
        day = self.cleaned_data["date"]
        try:
            check_entry_date(day)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["date"]) from exc
        return day

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("date") is not None and data.get("value") is not None:
            try:
                services.check_value(self.account, data["date"], data["value"])
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
                self.account, date=self.cleaned_data["date"], value=self.cleaned_data["value"]
            )
        except ValidationError as exc:  # another request took the date meanwhile
            for name, messages in exc.message_dict.items():
                self.add_error(name, messages)
        return None
