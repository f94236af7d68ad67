"""단말기 지정: browsers the customer designated for transfers (at most
CERTBANK_DESIGNATED_DEVICES_MAX). Transfers of 3,000,000원 or more a day from
any other device need the extra SMS check (DESIGN.md §1)."""

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.device import device_digest
from accounts.exceptions import DeviceAlreadyDesignated, DeviceLimitReached
from accounts.models import Customer, DesignatedDevice
from accounts.verification import Purpose, grant_consume
from audit.models import Action
from audit.services import audit_record
from core.boundary import service
from core.notify import notify_customer


def designated_devices(*, customer: Customer):
    return DesignatedDevice.objects.filter(customer=customer)


@service
def device_designate(
    *, customer: Customer, grant: str, session_key: str, device_token: str, name: str, request=None
) -> DesignatedDevice:
    """Designate this browser, consuming the customer's SMS-verified grant (DESIGNATE)."""
    grant_consume(token=grant, purpose=Purpose.DESIGNATE, session_key=session_key, bank=customer.bank, customer=customer)
    # The customer row serialises two designations racing for the last slot.
    # (FOR NO KEY UPDATE: audit rows naming the customer may still commit; core.boundary.hold.)
    Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    digest = device_digest(device_token)
    if DesignatedDevice.objects.filter(customer=customer, token_digest=digest).exists():
        raise DeviceAlreadyDesignated()
    limit = settings.CERTBANK_DESIGNATED_DEVICES_MAX
    if DesignatedDevice.objects.filter(customer=customer).count() >= limit:
        raise DeviceLimitReached(limit)
    device = DesignatedDevice.objects.create(
        customer=customer, token_digest=digest, name=(name or "").strip()[:40] or _("이 단말기")
    )
    audit_record(action=Action.DEVICE_DESIGNATED, customer=customer, bank=customer.bank, request=request, device=device.pk)
    notify_customer(
        customer=customer,
        subject=_("단말기가 지정되었습니다"),
        body=_("이체용 단말기 '%(name)s'이(가) 지정되었습니다. 본인이 아니면 즉시 은행에 신고하세요.") % {"name": device.name},
    )
    return device


@service
def device_release(*, customer: Customer, pk: int, request=None) -> bool:
    # SECURITY: scoped to the customer: another customer's device id does nothing.
    deleted, _rows = DesignatedDevice.objects.filter(customer=customer, pk=pk).delete()
    if deleted:
        audit_record(action=Action.DEVICE_RELEASED, customer=customer, bank=customer.bank, request=request, device=pk)
    return bool(deleted)
