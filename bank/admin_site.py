"""The staff console: Django admin behind a TOTP second factor."""

import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import ValidationError
from django.shortcuts import render
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
        # SECURITY: tries from one network take turns, from the wait check to
        # the counted failure: parallel guesses would otherwise all pass the
        # check before any of them was counted (accounts.services.staff_login_turn).
        refusal = services.staff_login_turn(attempt=self._attempt, request=self.request)
        if refusal is not None:
            raise refusal
        return self.cleaned_data

    def _attempt(self) -> forms.ValidationError | None:
        """One try; its refusal is returned, not raised, so that its count stays."""
        username = self.cleaned_data.get("username") or ""
        # SECURITY: back-off per network and name, never a lock (accounts.services):
        # a wrong password and a wrong code are one failure with one answer.
        wait = services.staff_login_wait(username=username, request=self.request)
        if wait:
            return forms.ValidationError(wait_message(wait), code="throttled")
        try:
            self.cleaned_data = super(OTPAdminAuthenticationForm, self).clean()
            user = self.get_user()
            if user is None:
                # A missing username or password: the fields' own errors answer it; nothing was checked.
                return None
            self.clean_otp(user)
        except forms.ValidationError:
            wait = services.staff_login_failed(username=username, user=self.get_user(), request=self.request)
            if wait:
                return forms.ValidationError(
                    _("아이디, 비밀번호 또는 OTP 인증번호가 올바르지 않습니다. %(s)d초 후에 다시 시도해 주세요.") % {"s": wait},
                    code="throttled",
                )
            return self.get_invalid_login_error()
        services.staff_login_succeeded(user=user, request=self.request)
        return None

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


# Search terms of the change lists (?q=) and of autocomplete (?term=): staff search by
# names, IDs and numbers, never more than this. SQLite refuses LIKE patterns over
# 50,000 bytes with an error (a 500, found by tests/fuzz) and PostgreSQL would scan for them.
SEARCH_MAX_LENGTH = 200


class StaffSite(OTPAdminSite):
    site_header = _("Certbank 직원 콘솔")
    site_title = _("Certbank 직원 콘솔")
    index_title = _("업무 메뉴")
    login_form = StaffLoginForm

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @functools.wraps(guarded)
        def bounded(request, *args, **kwargs):
            # SECURITY: one check for every page of the console, before any query.
            if any(len(request.GET.get(name, "")) > SEARCH_MAX_LENGTH for name in (SEARCH_VAR, "term")):
                message = _("검색어는 %(n)d자까지 입력할 수 있습니다.") % {"n": SEARCH_MAX_LENGTH}
                return render(request, "4xx.html", {"message": message}, status=400)
            return guarded(request, *args, **kwargs)

        return bounded

    def register(self, model_or_iterable, admin_class=None, **options):
        base = admin_class or admin.ModelAdmin
        # Every model of the console gets SelectionGuard, with its own admin class or django-otp's.
        return super().register(model_or_iterable, type(base.__name__, (SelectionGuard, base), {}), **options)


class SelectionGuard:
    """An action on the change list runs only on rows named by their primary key.

    Django's admin filters pk__in=<the posted _selected_action values> as they
    come, so a crafted value that is not a key ("", "action") raised
    ValueError in the query: a 500 (found by tests/fuzz). Here it is refused
    with a message, like an action with nothing selected."""

    def response_action(self, request, queryset):
        pk = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.to_python(value)
        except ValidationError:
            message = _("선택한 항목을 찾을 수 없습니다. 목록을 새로 고친 뒤 다시 선택해 주세요.")
            self.message_user(request, message, messages.ERROR)
            return None
        return super().response_action(request, queryset)


staff_site = StaffSite(name="admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that no one edits by hand: ledgers and audit rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
