"""Admin pages that stay fast at household scale (20,000 transactions, 400,000 closes).

An inline renders a form per row: a holding with 5,000 transactions made its change page
take seconds. Inlines therefore show only their newest rows, and the page links to the
changelist filtered to the parent, which paginates.
"""

from __future__ import annotations

from django.forms.models import _get_foreign_key
from django.urls import reverse
from django.utils.html import format_html

# Rows an inline shows; the rest are one click away in the changelist.
INLINE_ROWS = 20


class NewestInlineRows:
    """ModelAdmin mixin: each inline with a `newest` attribute shows at most that many rows
    of the object, in the inline's `ordering` (newest first)."""

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        cap = getattr(inline, "newest", None)
        if cap is not None and obj is not None and obj.pk is not None:
            fk = _get_foreign_key(type(obj), inline.model, fk_name=inline.fk_name)
            rows = kwargs["queryset"].filter(**{fk.name: obj}).order_by(*inline.ordering)
            # A sliced queryset cannot be filtered again (the formset filters by parent).
            kwargs["queryset"] = kwargs["queryset"].filter(
                pk__in=list(rows.values_list("pk", flat=True)[:cap])
            )
        return kwargs


def changelist_link(model, field: str, obj, count: int):
    """`count` rows of `model` whose `field` is `obj`, linked to their filtered changelist."""
    if obj.pk is None:  # the add page
        return "-"
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    name = meta.verbose_name if count == 1 else meta.verbose_name_plural
    return format_html(
        '<a href="{}?{}__id__exact={}">All {} {}</a>', url, field, obj.pk, count, name
    )
