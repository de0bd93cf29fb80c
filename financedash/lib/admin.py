"""Admin pages that stay fast at household scale (20,000 transactions, 400,000 closes).

An inline renders a form per row: a holding with 5,000 transactions made its change page
take seconds. Inlines therefore show only their newest rows, and the page links to the
changelist filtered to the parent, which paginates.
"""

from __future__ import annotations

import datetime

from django.contrib.admin import helpers
from django.contrib.admin.utils import FieldIsAForeignKeyColumnName, display_for_field, quote
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db import models
from django.forms.models import _get_foreign_key
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _

# Rows an inline shows; the rest are one click away in the changelist.
INLINE_ROWS = 20
# Rows a changelist page shows on the tables that grow with the household. A row of ten
# cells costs ~0.2 ms to render (each cell localised and escaped): 20 keep a changelist
# within twice the admin index's cost (issue 9: admin pages within 10x /health).
LIST_ROWS = 20


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
    the very markup Django's CheckboxInput renders (tests/test_admin_queries.py compares).
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


def quick_results(cl) -> list:
    """Django's `admin_list.results(cl)`, cell for cell the same markup (the test compares
    them on every changelist), with what is the same on every row worked out once per
    column instead of once per cell: the field lookup, the empty value, the CSS classes,
    the change link (a URL reversed per row, its query string parsed per row). A
    changelist this does not cover (editable rows, popups, columns that are neither
    fields nor admin methods) gets Django's own."""
    from django.contrib.admin.templatetags import admin_list

    if cl.formset or cl.is_popup or cl.to_field or cl.list_display_links is None:
        return list(admin_list.results(cl))
    columns, first = [], True
    for index, name in enumerate(cl.list_display):
        # Django's rule: the first column if no links are named, else the named ones;
        # the first linked cell is a <th>.
        linked = (first and not cl.list_display_links) or name in cl.list_display_links
        column = _column(cl, index, name, tag=("th" if first else "td") if linked else None)
        if column is None:
            return list(admin_list.results(cl))
        columns.append(column)
        first = first and not linked
    link = _change_link_template(cl)
    rows = []
    for result in cl.result_list:
        cells = []
        for kind, attr, row_class, empty, tag in columns:
            if kind == "relation":
                try:
                    value = getattr(result, attr.name)
                except ObjectDoesNotExist:
                    value = None
                shown = empty if value is None else value
            elif kind == "field":
                value = getattr(result, attr.name)
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                shown = display_for_field(value, attr, empty, avoid_link=tag is not None)
            else:  # an admin method (the action checkbox is one)
                value = attr(result)
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                shown = admin_list.display_for_value(
                    value,
                    getattr(attr, "empty_value_display", empty),
                    getattr(attr, "boolean", False),
                )
                if isinstance(value, (datetime.date, datetime.time)):
                    row_class = mark_safe(row_class[:-1] + ' nowrap"')
            if tag is None:
                cells.append(format_html("<td{}>{}</td>", row_class, shown))
                continue
            if link is not None:
                url = link.replace(_PK_MARK, str(quote(result.pk)))
                shown = format_html('<a href="{}"{}>{}</a>', url, "", shown)
            cells.append(format_html("<{}{}>{}</{}>", tag, row_class, shown, tag))
        rows.append(admin_list.ResultList(None, cells))
    return rows


_PK_MARK = "__quick_rows_pk__"


def _column(cl, index: int, name, tag: str | None):
    from django.contrib.admin.templatetags.admin_list import _coerce_field_name
    from django.contrib.admin.utils import _get_non_gfk_field

    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    css = [f"field-{_coerce_field_name(name, index)}"]
    try:
        field = _get_non_gfk_field(cl.lookup_opts, name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        field = None
    if field is not None:
        if field.auto_created:
            return None  # Django's own display rules for these
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            css.append("nowrap")
        # A foreign key shows its object as it is (Django's rule), any other field as the
        # admin formats a value of its kind.
        kind = "relation" if isinstance(field.remote_field, models.ManyToOneRel) else "field"
        return (kind, field, _class(css), empty, tag)
    if name == "action_checkbox":
        css = ["action-checkbox"]
    if callable(name):
        method = name
    elif isinstance(name, str) and name != "__str__" and hasattr(model_admin, name):
        method = getattr(model_admin, name)
    else:
        return None
    return ("method", method, _class(css), empty, tag)


def _class(css: list[str]):
    return format_html(' class="{}"', " ".join(css))


def _change_link_template(cl) -> str | None:
    from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
    from django.urls import NoReverseMatch

    meta = cl.opts
    try:
        url = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_change",
            args=(_PK_MARK,),
            current_app=cl.model_admin.admin_site.name,
        )
    except NoReverseMatch:
        return None
    return add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": meta}, url)
