"""Certificates in the staff console (/staff/).

Rows are never edited by hand: every status change goes
through certificates.services with actor=request.user, which writes the
audit row naming the staff member. Who may do what is a Django permission
(Certificate.Meta.permissions), granted through the groups of
certificates/migrations/0003_staff_roles.py.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.defaultfilters import linebreaksbr
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from bank.admin_site import ReadOnlyAdmin, staff_site
from certificates import services
from certificates.exceptions import InvalidTransition
from certificates.inspect import certificate_inspect
from certificates.models import Certificate, CertificateRegistration, CloudDevice, CloudKey

S = Certificate.Status
R = Certificate.RevocationReason

# Why a status change was refused, by (current status, wanted status).
TRANSITION_ERRORS = {
    (S.REVOKED, S.VALID): _("폐기된 인증서는 효력을 회복할 수 없습니다."),
    (S.REVOKED, S.SUSPENDED): _("폐기된 인증서는 효력을 정지할 수 없습니다."),
    (S.REVOKED, S.REVOKED): _("이미 폐기된 인증서입니다."),
    (S.SUSPENDED, S.SUSPENDED): _("이미 효력이 정지된 인증서입니다."),
    (S.VALID, S.VALID): _("효력이 정지되지 않은 인증서입니다."),
}
DONE = {
    S.SUSPENDED: _("효력을 정지했습니다."),
    S.VALID: _("효력을 회복했습니다."),
    S.REVOKED: _("폐기했습니다."),
}

# The RFC 5280 §5.3.1 reasons staff may give for a revocation
# (certificateHold is a suspension, not a revocation reason here).
STAFF_REVOCATION_REASONS = [
    (R.KEY_COMPROMISE, R.KEY_COMPROMISE.label),
    (R.CESSATION_OF_OPERATION, R.CESSATION_OF_OPERATION.label),
    (R.SUPERSEDED, R.SUPERSEDED.label),
    (R.UNSPECIFIED, R.UNSPECIFIED.label),
]


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("폐기 사유"),
        choices=[("", _("사유를 선택하세요"))] + STAFF_REVOCATION_REASONS,
        error_messages={"required": _("폐기 사유를 선택해 주세요.")},
    )


class ExpiringFilter(admin.SimpleListFilter):
    """Expiry is derived from not_after (STYLE.md), so the filter is too."""

    title = _("만료 예정")
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("30", _("30일 이내")), ("7", _("7일 이내")), ("expired", _("만료됨"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "expired":
            return queryset.expired(now)
        if self.value() in {"30", "7"}:
            return queryset.filter(not_after__gt=now, not_after__lte=now + datetime.timedelta(days=int(self.value())))
        return queryset


class RegistrationInline(admin.TabularInline):
    model = CertificateRegistration
    fields = ["bank", "customer", "registered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


class CloudKeyInline(admin.TabularInline):
    """A 금융인증서's PIN state. Never the wrapped key, salts or sealed secret."""

    model = CloudKey
    fields = ["failed_pins", "locked_at", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    verbose_name_plural = _("금융인증서 PIN 상태 (잠금 해제는 재발급으로만)")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("certificates.view_certificate")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Certificate, site=staff_site)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["serial", "kind", "holder_name", "common_name", "issuing_bank", "status", "expiry", "created_at"]
    list_filter = ["status", "kind", "issuing_bank", ExpiringFilter]
    search_fields = ["serial", "subject", "holder__name", "holder__login_id", "fingerprint"]
    list_select_related = ["issuing_bank", "holder"]
    fieldsets = [
        (None, {"fields": ["serial", "kind", "holder", "issuing_bank", "subject", "fingerprint", "created_at"]}),
        (
            _("유효기간과 상태"),
            {"fields": ["not_before", "not_after", "status", "status_changed_at", "revocation_reason", "revoked_at"]},
        ),
        (_("인증서 내용"), {"fields": ["certificate_contents"]}),
    ]
    readonly_fields = ["certificate_contents"]
    inlines = [RegistrationInline, CloudKeyInline]
    actions = ["suspend_certificates", "restore_certificates", "revoke_certificates"]

    # --- permissions (admin actions' permissions=["suspend"] call has_suspend_permission) ---

    def has_suspend_permission(self, request):
        return request.user.has_perm("certificates.suspend_certificate")

    def has_revoke_permission(self, request):
        return request.user.has_perm("certificates.revoke_certificate")

    # --- columns and fields -----------------------------------------------------------------------

    @admin.display(description=_("고객"), ordering="holder__name")
    def holder_name(self, obj):
        return obj.holder.name

    @admin.display(description=_("CN"))
    def common_name(self, obj):
        return obj.common_name

    @admin.display(description=_("만료일시"), ordering="not_after")
    def expiry(self, obj):
        local = timezone.localtime(obj.not_after)
        if obj.is_expired():
            return _("%(date)s (만료됨)") % {"date": f"{local:%Y-%m-%d}"}
        days = (obj.not_after - timezone.now()).days
        return _("%(date)s (%(days)d일 남음)") % {"date": f"{local:%Y-%m-%d}", "days": days}

    @admin.display(description=_("인증서 내용"))
    def certificate_contents(self, obj):
        try:
            facts = certificate_inspect(obj.der)
        except ValueError:
            return _("인증서를 읽을 수 없습니다.")
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, linebreaksbr(v)) for k, v in facts.items()))
        return format_html('<table class="certificate-contents">{}</table>', rows)

    # --- actions ----------------------------------------------------------------------------------

    def _change_each(self, request, queryset, *, to, reason=""):
        for certificate in queryset.select_related("holder"):
            label = f"{certificate.serial} ({certificate.holder.name})"
            try:
                services.certificate_status_change_by_staff(
                    certificate=certificate, to=to, reason=reason, actor=request.user, request=request
                )
            except InvalidTransition:
                certificate.refresh_from_db(fields=["status"])
                error = TRANSITION_ERRORS.get((certificate.status, to), _("이 인증서의 상태를 바꿀 수 없습니다."))
                self.message_user(request, f"{label}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{label}: {DONE[to]}", messages.SUCCESS)

    @admin.action(description=_("선택한 인증서 효력정지"), permissions=["suspend"])
    def suspend_certificates(self, request, queryset):
        # SECURITY: the action list already hides what a role may not do; a
        # crafted POST naming the action is refused here too.
        if not self.has_suspend_permission(request):
            raise PermissionDenied
        self._change_each(request, queryset, to=S.SUSPENDED)

    @admin.action(description=_("선택한 인증서 효력회복"), permissions=["suspend"])
    def restore_certificates(self, request, queryset):
        if not self.has_suspend_permission(request):  # SECURITY: as above
            raise PermissionDenied
        self._change_each(request, queryset, to=S.VALID)

    @admin.action(description=_("선택한 인증서 폐기 (사유 선택)"), permissions=["revoke"])
    def revoke_certificates(self, request, queryset):
        """Ask for the reason on an intermediate page, then revoke (final)."""
        if not self.has_revoke_permission(request):  # SECURITY: as above
            raise PermissionDenied
        form = RevokeForm(request.POST if "post" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._change_each(request, queryset, to=S.REVOKED, reason=form.cleaned_data["reason"])
            return None  # back to the change list, with the messages
        context = {
            **self.admin_site.each_context(request),
            "title": _("인증서 폐기"),
            "subtitle": None,
            "opts": self.model._meta,
            "certificates": queryset.select_related("holder", "issuing_bank"),
            "form": form,
            "action_name": "revoke_certificates",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/certificates/certificate/revoke_confirmation.html", context)


@admin.register(CertificateRegistration, site=staff_site)
class CertificateRegistrationAdmin(ReadOnlyAdmin):
    list_display = ["serial", "certificate", "bank", "customer", "registered_at"]
    list_filter = ["bank"]
    search_fields = ["certificate__serial", "customer__name", "customer__login_id"]
    list_select_related = ["certificate", "bank", "customer"]

    @admin.display(description=_("일련번호"), ordering="certificate__serial")
    def serial(self, obj):
        return obj.certificate.serial


@admin.register(CloudDevice, site=staff_site)
class CloudDeviceAdmin(ReadOnlyAdmin):
    """금융인증서 이용기기: which browsers reach a person's cloud (removed only by the customer)."""

    list_display = ["label", "customers", "registered_through", "registered_at", "last_used_at"]
    list_filter = ["registered_through"]
    list_select_related = ["registered_through"]

    @admin.display(description=_("고객"))
    def customers(self, obj):
        people = Customer.objects.filter(rrn_index=obj.person_index).select_related("bank")
        return ", ".join(f"{person.name} ({person.bank.name_ko} {person.login_id})" for person in people)
