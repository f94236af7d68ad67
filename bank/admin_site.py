"""The staff console: Django admin behind a TOTP second factor."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class StaffSite(OTPAdminSite):
    site_header = _("Certbank 직원 콘솔")
    site_title = _("Certbank 직원 콘솔")
    index_title = _("업무 메뉴")


staff_site = StaffSite(name="admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that no one edits by hand: ledgers and audit rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
