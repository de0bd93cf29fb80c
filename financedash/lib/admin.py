"""Admin pages that stay fast at household scale (20,000 transactions, 400,000 closes).

An inline renders a form per row: a holding with 5,000 transactions made its change page
take seconds. Inlines therefore show only their newest rows, and the page links to the
changelist filtered to the parent, which paginates.
"""

from __future__ import annotations

from django.contrib.admin import helpers
from django.contrib.admin.utils import display_for_field
from django.core.paginator import Paginator
from django.forms.models import _get_foreign_key
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _

# Rows an inline shows; the rest are one click away in the changelist.
INLINE_ROWS = 20
# Rows a changelist page shows. A row of ten cells costs ~0.3 ms to render (each cell is
# looked up, localised and escaped): 25 keep a page near the cost of the admin's index.
LIST_ROWS = 25


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


def newest_rows(rows, fields: tuple[str, ...], empty: str = "-"):
    """A read-only table of `rows` (a queryset, newest first: at most INLINE_ROWS are read),
    the cells formatted as the admin formats a read-only field, each row's first cell a
    link to its change page. It stands in for a read-only inline, whose hidden inputs and
    per-cell field wrappers cost ~1 ms a row (20 ms on the busiest holding's page)."""
    rows = list(rows[:INLINE_ROWS])
    if not rows:
        return empty
    meta = rows[0]._meta
    model_fields = [meta.get_field(name) for name in fields]
    # The admin's change URL is "<changelist><pk>/change/": reversed once, not per row.
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    head = format_html_join(
        "", "<th>{}</th>", ((capfirst(field.verbose_name),) for field in model_fields)
    )
    lines = []
    for row in rows:
        cells = [
            conditional_escape(display_for_field(getattr(row, field.name), field, empty))
            for field in model_fields
        ]
        cells[0] = format_html('<a href="{}{}/change/">{}</a>', changelist, row.pk, cells[0])
        # Joined as escaped text rather than a format_html per cell (a third of the cost).
        lines.append("<tr><td>" + "</td><td>".join(cells) + "</td></tr>")
    body = mark_safe("".join(lines))  # every cell escaped above
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


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


class CappedPaginator(Paginator):
    """Counts at most `cap` rows: a changelist never counts a whole table of 400,000
    closes (a scan on every page, 35 ms for a search joined to its instrument). Past
    the cap the page says "more than" and its page links stop there: narrow the list
    with search or a filter to reach older rows."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if not hasattr(rows, "values"):  # a list, not a queryset
            return len(rows)
        # The ids alone, unordered: no joins (select_related) and no sort in the count.
        return rows.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class QuickRows:
    """ModelAdmin mixin: the row checkbox of the changelist's actions written directly,
    the very markup Django's CheckboxInput renders (tests/test_admin.py compares them).
    The widget renders through three form templates per row: a third of a row's cost."""

    def action_checkbox(self, obj):
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )


class BigTableAdmin(QuickRows):
    """ModelAdmin mixin for tables that grow with the household (transactions, closes,
    rates, pension values): counts capped, no count of the unfiltered table on each
    filtered page, and pages short enough to render in a few milliseconds."""

    paginator = CappedPaginator
    show_full_result_count = False
    list_per_page = LIST_ROWS
