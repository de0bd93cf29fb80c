"""`{% quick_result_list cl %}`: Django's `{% result_list cl %}` with the rows rendered by
financedash.lib.admin.quick_results (the same markup, about half the cost); used by
templates/admin/change_list.html."""

from __future__ import annotations

from django.contrib.admin.templatetags.admin_list import result_headers, result_hidden_fields
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.template import Library

from financedash.lib.admin import quick_results

register = Library()


def quick_result_list(cl) -> dict:
    """The context of Django's `result_list(cl)` (admin_list.py), with quick rows."""
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": quick_results(cl),
    }


@register.tag(name="quick_result_list")
def quick_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=quick_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
