from django.contrib import admin

from bank.admin_site import ReadOnlyAdmin, staff_site
from certificates.models import Certificate, CertificateRegistration


class RegistrationInline(admin.TabularInline):
    model = CertificateRegistration
    fields = ["bank", "customer", "registered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Certificate, site=staff_site)
class CertificateAdmin(ReadOnlyAdmin):
    """Read-only for now; staff suspend/restore/revoke come with the lifecycle issue."""

    list_display = ["serial", "kind", "subject", "issuing_bank", "status", "not_after", "created_at"]
    list_filter = ["status", "kind", "issuing_bank"]
    search_fields = ["serial", "subject", "holder__name", "holder__login_id", "fingerprint"]
    list_select_related = ["issuing_bank"]
    exclude = ["der"]
    inlines = [RegistrationInline]
