"""인증서 관리: list, detail, download, renewal, suspension, loss report, restoration."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.decorators import customer_required
from certificates import selectors, services
from certificates.exceptions import CertificateRefused, InvalidTransition, Refusal
from certificates.models import Certificate
from certificates.views.common import (
    ISSUE_SESSION_KEY,
    _b64_field,
    _BadField,
    _issued_answer,
    _refusal_response,
    json_customer_required,
)
from certificates.views.issuance import _verification_sms, _verification_start

# --- 인증서 관리 (my certificates) ------------------------------------------------------------------


def _own_certificate(request, serial: str) -> Certificate:
    # SECURITY: only the logged-in person's certificates (any bank), by serial.
    return get_object_or_404(
        Certificate.objects.select_related("issuing_bank"), serial=serial.lower(), person_index=request.user.rrn_index
    )


@customer_required
def manage_view(request):
    certificates = selectors.person_certificates(customer=request.user)
    context = {
        "certificates": certificates,
        "cloud_certificates": selectors.cloud_certificates_of(customer=request.user),
        "device_registered": services.cloud_device_current(person_index=request.user.rrn_index, device_token=request.device_token)
        is not None,
    }
    return render(request, "certificates/manage.html", context)


@customer_required
def detail_view(request, serial):
    certificate = _own_certificate(request, serial)
    context = {
        "certificate": selectors.certificate_summary(certificate, customer=request.user),
        "renewal_refusal": services.renewal_refusal(certificate),
    }
    return render(request, "certificates/detail.html", context)


@customer_required
def download_view(request, serial):
    """The certificate (public part only) as signCert.der."""
    certificate = _own_certificate(request, serial)
    response = HttpResponse(bytes(certificate.der), content_type="application/pkix-cert")
    response["Content-Disposition"] = 'attachment; filename="signCert.der"'
    return response


@customer_required
def renew_view(request, serial):
    certificate = _own_certificate(request, serial)
    refusal = services.renewal_refusal(certificate)
    context = {
        "certificate": selectors.certificate_summary(certificate, customer=request.user),
        "renewable": refusal is None,
        "refusal": refusal,
    }
    return render(request, "certificates/renew.html", context)


@require_POST
@json_customer_required
@sensitive_post_parameters("r")
def renew_complete_view(request):
    try:
        fields = {name: _b64_field(request, name) for name in ("certificate", "signature", "public_key", "r")}
        new_signature = _b64_field(request, "new_signature")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        certificate = services.certificate_renew(
            customer=request.user,
            bank=request.bank,
            session_key=request.session.session_key or "",
            token=request.POST.get("challenge", ""),
            certificate_der=fields["certificate"],
            signature=fields["signature"],
            public_key_spki=fields["public_key"],
            new_signature=new_signature,
            r=fields["r"],
            request=request,
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    return _issued_answer(certificate, redirect=reverse("certificates:manage", kwargs={"bank": request.bank.slug}))


@require_POST
@customer_required
def suspend_view(request, serial):
    """효력정지: takes effect at once; restoring needs identity verification."""
    certificate = _own_certificate(request, serial)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("효력정지 내용을 확인해 주세요."))
    else:
        try:
            services.certificate_suspend_by_customer(customer=request.user, certificate=certificate, request=request)
        except InvalidTransition:
            messages.error(request, _("이 인증서는 효력정지할 수 없는 상태입니다."))
        else:
            messages.success(request, _("인증서 효력을 정지했습니다. 효력회복은 본인확인 후 할 수 있습니다."))
    return redirect("certificates:detail", bank=request.bank.slug, serial=certificate.serial)


_STATUS_ACTIONS = {
    # purpose: (service, SMS reason, success message)
    "revoke": (
        services.certificate_revoke_by_customer,
        "인증서 폐기",
        _lazy("인증서를 폐기했습니다. 폐기한 인증서는 다시 쓸 수 없습니다."),
    ),
    "restore": (services.certificate_restore_by_customer, "인증서 효력회복", _lazy("인증서 효력을 회복했습니다.")),
}


@customer_required
@sensitive_post_parameters("rrn", "pin", "otp")
def status_start_view(request, serial, purpose):
    """폐기 (분실 신고) or 효력회복, step 1: identity verification."""
    certificate = _own_certificate(request, serial)
    return _verification_start(
        request,
        purpose=purpose,
        certificate=certificate,
        sms_reason=_STATUS_ACTIONS[purpose][1],
        next_url=reverse(f"certificates:{purpose}_verify", kwargs={"bank": request.bank.slug, "serial": certificate.serial}),
        template="certificates/status_start.html",
    )


@customer_required
@sensitive_post_parameters("code")
def status_verify_view(request, serial, purpose):
    """폐기 or 효력회복, step 2: the SMS code, then the change itself."""
    certificate = _own_certificate(request, serial)
    back = reverse(f"certificates:{purpose}", kwargs={"bank": request.bank.slug, "serial": certificate.serial})
    state, response = _verification_sms(request, purpose=purpose, back_url=back)
    if response is not None:
        return response
    request.session.pop(ISSUE_SESSION_KEY, None)
    if state.get("serial") != certificate.serial:
        return redirect(back)
    service, _reason, done = _STATUS_ACTIONS[purpose]
    try:
        service(customer=request.user, certificate=certificate, request=request)
    except InvalidTransition:
        messages.error(request, _("이 인증서는 지금 상태에서 그렇게 바꿀 수 없습니다."))
    else:
        messages.success(request, done)
    return redirect("certificates:detail", bank=request.bank.slug, serial=certificate.serial)
