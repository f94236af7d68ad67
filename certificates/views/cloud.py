"""금융인증서: the cloud store's endpoints, the issuance preparation, and 이용기기 관리.

The cloud endpoints need no login (the 인증서 선택창 uses them on the login
page too): they answer only a registered device (accounts.device), and a
key only after a correct PIN verifier. The PIN itself never reaches them.
"""

import base64
import re

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.decorators import customer_required
from certificates import services
from certificates.exceptions import CertificateRefused, Refusal
from certificates.forms import SmsCodeForm
from certificates.models import Certificate
from certificates.views.common import (
    CLOUD_SETUP_SESSION_KEY,
    _b64_field,
    _BadField,
    _ensure_session,
    _issue_state,
    _issue_verified,
    _issued_answer,
    _refusal_response,
    _refused,
    json_customer_required,
)
from core.errors import DomainError

_SERIAL = re.compile(r"^[0-9a-f]{1,40}$")


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _serial(request) -> str:
    serial = request.POST.get("serial", "").strip().lower()
    if not _SERIAL.match(serial):
        raise _BadField("serial")
    return serial


def _setup_keep(request, purpose: str, setup) -> None:
    state = request.session.get(CLOUD_SETUP_SESSION_KEY) or {}
    state[purpose] = setup.to_session()
    request.session[CLOUD_SETUP_SESSION_KEY] = state


def _setup_take(request, purpose: str):
    """The key material handed out for `purpose`, once."""
    state = request.session.get(CLOUD_SETUP_SESSION_KEY) or {}
    setup = services.CloudSetup.from_session(state.pop(purpose, None))
    request.session[CLOUD_SETUP_SESSION_KEY] = state
    return setup


# --- Issuance ---------------------------------------------------------------------------------


@require_POST
@json_customer_required
def cloud_issue_prepare_view(request):
    """After identity verification: the issuance challenge and fresh key material."""
    if not _issue_verified(request) or _issue_state(request).get("kind") != Certificate.Kind.FINANCIAL:
        return _refusal_response(Refusal.NOT_VERIFIED)
    challenge = services.certificate_issue_challenge(
        customer=request.user, bank=request.bank, session_key=_ensure_session(request), kind=Certificate.Kind.FINANCIAL
    )
    setup = services.cloud_setup_new()
    _setup_keep(request, "issue", setup)
    return JsonResponse({"challenge": challenge.token, "to_sign": _b64(challenge.to_sign), **setup.for_browser()})


# --- The cloud store --------------------------------------------------------------------------


@never_cache
@require_GET
def cloud_list_view(request):
    """The 금융인증서 this device may use (the window's 금융인증서 tab)."""
    certificates = services.cloud_certificates(device_token=request.device_token)
    return JsonResponse(
        {
            "registered": services.device_is_registered(device_token=request.device_token),
            "certificates": [
                {
                    "serial": certificate.serial,
                    "certificate": _b64(certificate.der),
                    "verifier_salt": _b64(certificate.cloud_key.verifier_salt),
                    "iterations": certificate.cloud_key.iterations,
                    "locked": certificate.cloud_key.locked,
                    "failures": certificate.cloud_key.failed_pins,
                    "renewal_due": services.renewal_due(certificate),
                }
                for certificate in certificates
            ],
        }
    )


@never_cache
@require_POST
@sensitive_post_parameters("verifier")
def cloud_unlock_view(request):
    """A correct PIN verifier releases the wrapped key and the server secret."""
    try:
        serial = _serial(request)
        verifier = _b64_field(request, "verifier")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        release = services.cloud_key_unlock(
            serial=serial, verifier=verifier, device_token=request.device_token, bank=request.bank, request=request
        )
    except CertificateRefused as exc:
        return _refused(exc)
    return JsonResponse(
        {
            "serial": release.certificate.serial,
            "certificate": _b64(release.certificate.der),
            "wrapped_key": _b64(release.wrapped_key),
            "wrap_salt": _b64(release.wrap_salt),
            "iterations": release.iterations,
            "server_secret": _b64(release.server_secret),
            "renewal_due": release.renewal_due,
        }
    )


@never_cache
@require_POST
@sensitive_post_parameters("verifier", "new_verifier", "wrapped_key")
def cloud_pin_view(request):
    """PIN 변경: old verifier, new verifier and salts, the key rewrapped in the browser."""
    try:
        fields = {
            name: _b64_field(request, name)
            for name in ("verifier", "new_verifier", "new_verifier_salt", "new_wrap_salt", "wrapped_key")
        }
        serial = _serial(request)
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        services.cloud_pin_change(serial=serial, device_token=request.device_token, bank=request.bank, request=request, **fields)
    except CertificateRefused as exc:
        return _refused(exc)
    return JsonResponse({"serial": serial, "message": _("금융인증서 PIN을 변경했습니다.")})


@never_cache
@require_POST
def cloud_renew_prepare_view(request):
    """자동 갱신 step 1: a challenge for the old key, fresh material for the new one."""
    try:
        serial = _serial(request)
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        challenge, setup = services.cloud_renew_prepare(
            serial=serial,
            device_token=request.device_token,
            bank=request.bank,
            session_key=_ensure_session(request),
            request=request,
        )
    except CertificateRefused as exc:
        return _refused(exc)
    _setup_keep(request, "renew", setup)
    return JsonResponse({"challenge": challenge.token, "to_sign": _b64(challenge.to_sign), **setup.for_browser()})


@never_cache
@require_POST
@sensitive_post_parameters("r", "old_verifier", "verifier", "wrapped_key")
def cloud_renew_complete_view(request):
    """자동 갱신 step 2: old key's signature, new key's proof, the new wrapped key."""
    try:
        fields = {
            name: _b64_field(request, name)
            for name in (
                "certificate",
                "signature",
                "public_key",
                "new_signature",
                "r",
                "old_verifier",
                "verifier",
                "wrapped_key",
            )
        }
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    setup = _setup_take(request, "renew")
    if setup is None:
        return _refusal_response(Refusal.CHALLENGE_UNKNOWN)
    try:
        certificate = services.certificate_renew_financial(
            bank=request.bank,
            session_key=request.session.session_key or "",
            token=request.POST.get("challenge", ""),
            certificate_der=fields["certificate"],
            signature=fields["signature"],
            public_key_spki=fields["public_key"],
            new_signature=fields["new_signature"],
            r=fields["r"],
            old_verifier=fields["old_verifier"],
            verifier=fields["verifier"],
            wrapped_key=fields["wrapped_key"],
            setup=setup,
            device_token=request.device_token,
            request=request,
        )
    except CertificateRefused as exc:
        return _refused(exc)
    # Shown on the next page (the accounts after a login, the receipt after a transfer).
    expiry = timezone.localtime(certificate.not_after)
    messages.info(request, _("금융인증서가 자동 갱신되었습니다. 새 만료일: %(date)s") % {"date": f"{expiry:%Y-%m-%d}"})
    return _issued_answer(certificate, redirect="")


# --- 이용기기 관리 --------------------------------------------------------------------------------

DEVICE_SMS_SESSION_KEY = "cloud_device_sms"


@customer_required
@sensitive_post_parameters("code")
def cloud_devices_view(request):
    """The customer's 금융인증서 devices: list, remove, and register this browser by SMS."""
    customer = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    form = SmsCodeForm()
    if action == "send":
        try:
            account_services.sms_code_send(customer=customer, reason="금융인증서 이용기기 등록", request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            request.session[DEVICE_SMS_SESSION_KEY] = {"customer": customer.pk, "at": timezone.now().timestamp()}
            messages.success(request, _("인증번호를 보냈습니다."))
        return redirect("certificates:cloud_devices", bank=request.bank.slug)
    if action == "register":
        form = SmsCodeForm(request.POST)
        if (request.session.get(DEVICE_SMS_SESSION_KEY) or {}).get("customer") != customer.pk:
            messages.error(request, _("먼저 인증번호를 받아 주세요."))
            return redirect("certificates:cloud_devices", bank=request.bank.slug)
        if form.is_valid():
            try:
                account_services.sms_code_verify(customer=customer, code=form.cleaned_data["code"], request=request)
                services.cloud_device_register(
                    customer=customer,
                    bank=request.bank,
                    device_token=request.device_token,
                    user_agent=request.headers.get("User-Agent", ""),
                    request=request,
                )
            except DomainError as exc:
                form.add_error("code", exc.message)
            except CertificateRefused as exc:
                form.add_error(None, exc.message)
            else:
                request.session.pop(DEVICE_SMS_SESSION_KEY, None)
                messages.success(request, _("이 기기를 금융인증서 이용기기로 등록했습니다."))
                return redirect("certificates:cloud_devices", bank=request.bank.slug)
    if action == "remove":
        try:
            services.cloud_device_remove(
                customer=customer, bank=request.bank, device_id=int(request.POST.get("device", "0")), request=request
            )
        except (ValueError, CertificateRefused):
            messages.error(request, _("삭제할 기기를 찾을 수 없습니다."))
        else:
            messages.success(request, _("이용기기를 삭제했습니다. 그 기기에서는 더 이상 금융인증서를 쓸 수 없습니다."))
        return redirect("certificates:cloud_devices", bank=request.bank.slug)
    current = services.cloud_device_current(person_index=customer.rrn_index, device_token=request.device_token)
    devices = list(services.cloud_devices(person_index=customer.rrn_index).select_related("registered_through"))
    return render(
        request,
        "certificates/cloud_devices.html",
        {
            "devices": devices,
            "current": current,
            "form": form,
            "code_sent": (request.session.get(DEVICE_SMS_SESSION_KEY) or {}).get("customer") == customer.pk,
            "phone": customer.masked_phone,
            "limit": settings.CERTBANK_CLOUD_MAX_DEVICES,
        },
    )
