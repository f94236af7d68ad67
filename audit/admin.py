from django.contrib import admin

from audit.models import AuditEvent
from bank.admin_site import ReadOnlyAdmin, staff_site


@admin.register(AuditEvent, site=staff_site)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the log is append-only and hash-chained (`manage.py verify_audit_log`)."""

    list_display = ["sequence", "created_at", "action", "bank", "customer", "actor", "ip_address"]
    list_filter = ["action", "bank"]
    search_fields = ["customer__name", "customer__login_id", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["bank", "customer", "actor"]
    fields = ["sequence", "created_at", "action", "bank", "customer", "actor", "ip_address", "detail", "prev_hash", "hash"]
    readonly_fields = fields
    actions = None
