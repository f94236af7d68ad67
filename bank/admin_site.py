"""The staff console: Django admin behind a TOTP second factor."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from core.errors import wait_message


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Password and TOTP checked as one step, with one answer for any failure.

    SECURITY: a distinct "wrong code" message would tell a password guesser
    that the password was right. A wrong code counts as a failed login, and
    success is recorded only when both factors passed.
    """

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        # SECURITY: back-off per network and name, never a lock (accounts.services):
        # a wrong password and a wrong code are one failure with one answer.
        wait = services.staff_login_wait(username=username, request=self.request)
        if wait:
            raise forms.ValidationError(wait_message(wait), code="throttled")
        try:
            self.cleaned_data = super(OTPAdminAuthenticationForm, self).clean()
            user = self.get_user()
            self.clean_otp(user)
        except forms.ValidationError:
            wait = services.staff_login_failed(username=username, user=self.get_user(), request=self.request)
            if wait:
                raise forms.ValidationError(
                    _("아이디, 비밀번호 또는 OTP 인증번호가 올바르지 않습니다. %(s)d초 후에 다시 시도해 주세요.") % {"s": wait},
                    code="throttled",
                ) from None
            raise self.get_invalid_login_error() from None
        services.staff_login_succeeded(user=user, request=self.request)
        return self.cleaned_data

    def _chosen_device(self, user):
        """The staff member's own TOTP device when none was picked.

        django-otp's admin form otherwise asks for a device in a second round
        trip, which the single error message above would hide. Staff have one
        TOTP device; it is looked up for this user only (never another's).
        """
        device = super()._chosen_device(user)
        if device is None and user is not None:
            device = TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update().first()
        return device


class StaffSite(OTPAdminSite):
    site_header = _("Certbank 직원 콘솔")
    site_title = _("Certbank 직원 콘솔")
    index_title = _("업무 메뉴")
    login_form = StaffLoginForm


staff_site = StaffSite(name="admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that no one edits by hand: ledgers and audit rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
