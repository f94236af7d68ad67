"""Writing the audit log. Call inside the transaction of the change."""

from typing import Any

from audit.models import Action, AuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: Action,
    customer=None,
    bank=None,
    actor=None,
    request=None,
    **detail: Any,
) -> AuditEvent:
    if customer is not None and not getattr(customer, "pk", None):
        customer = None
    return AuditEvent.objects.create(
        action=action,
        customer=customer,
        bank=bank,
        actor=actor,
        ip_address=client_ip(request),
        detail=detail,
    )
