from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from financedash import backup
from financedash.lib.money import decimal_formfield
from financedash.models import Profile
from pensions import ynab
from portfolios.forms import BenchmarkMixin


class ProfileForm(BenchmarkMixin, forms.ModelForm):
    class Meta:
        formfield_callback = decimal_formfield
        model = Profile
        fields = (
            "base_currency",
            "retirement_goal_amount",
            "retirement_goal_year",
            "ynab_budget_id",
            "dividends_reduce_cost_basis",
            "language",
        )
        labels = {
            "base_currency": _("Base currency"),
            "retirement_goal_amount": _("Retirement goal"),
            "retirement_goal_year": _("Retire in (year)"),
            "ynab_budget_id": _("YNAB budget id"),
            "dividends_reduce_cost_basis": _("Dividends reduce the cost basis in new portfolios"),
            "language": _("Language"),
        }
        help_texts = {
            "base_currency": _(
                "Three-letter code, e.g. NOK. The dashboard adds everything up in it."
            ),
            "retirement_goal_amount": _(
                "The net worth you aim for, in the base currency. Leave empty for no goal."
            ),
            "ynab_budget_id": _(
                "The budget whose accounts hold pension balances. The access "
                "token is never stored here: it comes from the server's YNAB_ACCESS_TOKEN."
            ),
            "dividends_reduce_cost_basis": _(
                "Each portfolio keeps its own setting; this is "
                "what a new one starts with. Off: dividends count as income only."
            ),
            "language": _(
                "The language of the pages, and how numbers and dates are written "
                "(1 234,50 kr in Norwegian)."
            ),
        }
        widgets = {
            "base_currency": forms.TextInput(
                attrs={"maxlength": 3, "autocapitalize": "characters", "class": "short"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_benchmark()
        # Each language named in itself, and "blank" said plainly.
        self.fields["language"].choices = [
            ("", _("As the browser asks")),
            ("en", "English"),
            ("nb", "Norsk bokmål"),
        ]

    def clean_base_currency(self) -> str:
        return self.cleaned_data["base_currency"].strip().upper()

    def clean_ynab_budget_id(self) -> str | None:
        # NULL rather than "" for "none", as the model and the API have it.
        budget_id = (self.cleaned_data["ynab_budget_id"] or "").strip() or None
        if budget_id and not ynab.BUDGET_ID.fullmatch(budget_id):
            raise forms.ValidationError(ynab.BUDGET_ID_HELP)
        if budget_id and budget_id != self.instance.ynab_budget_id:
            # Checked with YNAB now, as POST /api/v1/settings/ynab does, not at the first sync.
            try:
                ynab.budget_currency(budget_id)
            except ynab.YnabError as exc:
                raise forms.ValidationError(exc.message) from exc
        return budget_id


class RestoreForm(forms.Form):
    file = forms.FileField(
        label=_("Backup file"),
        help_text=_(
            "A financedash backup (.json). It is restored only into an account without portfolios."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > backup.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB: is it a backup?"))
        return upload
