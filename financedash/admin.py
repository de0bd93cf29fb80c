from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from financedash.lib.admin import QuickRows
from financedash.lib.money import ADMIN_DECIMALS
from financedash.models import Profile

admin.site.site_header = "financedash admin"
admin.site.site_title = "financedash admin"
# The sidebar repeats the index's list of every model on each admin page: 1.5-2 ms of a
# changelist's ~12 (issue 9: admin pages within 10x /health). The breadcrumbs lead home.
admin.site.enable_nav_sidebar = False


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    formfield_overrides = ADMIN_DECIMALS


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserWithProfileAdmin(QuickRows, UserAdmin):
    def get_inlines(self, request, obj):
        # A new user's profile is created by the post_save signal, not by this form.
        return [ProfileInline] if obj else []


@admin.register(Profile)
class ProfileAdmin(QuickRows, admin.ModelAdmin):
    formfield_overrides = ADMIN_DECIMALS
    list_display = (
        "user",
        "base_currency",
        "retirement_goal_amount",
        "retirement_goal_year",
        "dividends_reduce_cost_basis",
    )
    list_filter = ("base_currency",)
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    # A ticker box, not a select of every instrument (one query and a long list).
    raw_id_fields = ("benchmark",)
