"""Reads for the 인증서 관리 pages."""

from dataclasses import dataclass

from django.utils import timezone

from certificates.models import Certificate, CertificateRegistration


@dataclass
class CertificateSummary:
    """A certificate as the customer sees it: status including expiry, days left, banks."""

    record: Certificate
    display_status: str  # 유효 / 효력정지 / 폐기 / 만료
    status_code: str  # valid / suspended / revoked / expired
    days_left: int
    registered_banks: list
    registered_here: bool

    def __getattr__(self, name):
        return getattr(self.record, name)


def certificate_summary(certificate: Certificate, *, customer, now=None) -> CertificateSummary:
    now = now or timezone.now()
    expired = certificate.is_expired(now) and certificate.status != Certificate.Status.REVOKED
    registrations = list(certificate.registrations.all())
    return CertificateSummary(
        record=certificate,
        display_status="만료" if expired else certificate.get_status_display(),
        status_code="expired" if expired else certificate.status,
        days_left=max(0, (certificate.not_after - now).days),
        registered_banks=[registration.bank for registration in registrations],
        registered_here=any(r.bank_id == customer.bank_id and r.customer_id == customer.pk for r in registrations),
    )


def person_certificates(*, customer, now=None) -> list[CertificateSummary]:
    """Every certificate of this person (all banks), newest first."""
    certificates = (
        Certificate.objects.filter(person_index=customer.rrn_index)
        .select_related("issuing_bank")
        .prefetch_related("registrations__bank")
        .order_by("-created_at")
    )
    return [certificate_summary(certificate, customer=customer, now=now) for certificate in certificates]


def registrations_made_here(*, customer, bank):
    """Certificates of other banks this customer registered at `bank`."""
    return (
        CertificateRegistration.objects.filter(customer=customer, bank=bank)
        .exclude(certificate__issuing_bank=bank)
        .select_related("certificate", "certificate__issuing_bank")
        .order_by("-registered_at")
    )


def cloud_certificates_of(*, customer):
    """The person's current 금융인증서 with its cloud key (for 인증서 관리)."""
    return list(
        Certificate.objects.current()
        .filter(person_index=customer.rrn_index, kind=Certificate.Kind.FINANCIAL, cloud_key__isnull=False)
        .select_related("cloud_key", "issuing_bank")
    )
