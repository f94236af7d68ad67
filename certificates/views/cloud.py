"""금융인증서: the cloud store's endpoints, the issuance preparation, and 이용기기 관리.

The cloud endpoints need no login (the 인증서 선택창 uses them on the login
page too): they answer only a registered device (accounts.device), and a
key only after a correct PIN verifier. The PIN itself never reaches them.
"""

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from accounts.decorators import customer_required, logged_in_customer
from accounts.device import device_token_issue
from accounts.models import VerificationGrant
from bank.http import b64_text, json_endpoint
from certificates import services
from certificates.exceptions import CertificateRefused, Refusal
from certificates.forms import CloudPinForm, CloudRenewForm, CloudSerialForm, CloudUnlockForm
from certificates.models import Certificate
from certificates.views.common import cloud_setup_keep, cloud_setup_take, issued_answer
from certificates.views.issuance import issue_grant
from flows.forms import IdentityStepForm
from flows.views import StepUpView, session_key_of


def _expiry(challenge) -> dict:
    """When the challenge stops being accepted (the page counts it down)."""
    return {"expires_at": challenge.expires_at.isoformat(), "expires_in": settings.CERTBANK_CHALLENGE_SECONDS}


# --- Issuance ---------------------------------------------------------------------------------


@json_endpoint()
def cloud_issue_prepare_view(request, data):
    """After identity verification: the issuance challenge and fresh key material."""
    grant = issue_grant(request)
    if grant is None or grant.detail.get("kind") != Certificate.Kind.FINANCIAL:
        raise CertificateRefused(Refusal.NOT_VERIFIED)
    challenge = services.certificate_issue_challenge(
        customer=grant.customer, bank=request.bank, session_key=session_key_of(request), kind=Certificate.Kind.FINANCIAL
    )
    setup = services.cloud_setup_new()
    cloud_setup_keep(request, "issue", setup)
    return {"challenge": challenge.token, "to_sign": b64_text(challenge.to_sign), **_expiry(challenge), **setup.for_browser()}


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
                    "certificate": b64_text(certificate.der),
                    "verifier_salt": b64_text(certificate.cloud_key.verifier_salt),
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
@sensitive_post_parameters("verifier")
@json_endpoint(CloudUnlockForm)
def cloud_unlock_view(request, data):
    """A correct PIN verifier releases the wrapped key and the server secret."""
    release = services.cloud_key_unlock(
        serial=data["serial"], verifier=data["verifier"], device_token=request.device_token, bank=request.bank, request=request
    )
    return {
        "serial": release.certificate.serial,
        "certificate": b64_text(release.certificate.der),
        "wrapped_key": b64_text(release.wrapped_key),
        "wrap_salt": b64_text(release.wrap_salt),
        "iterations": release.iterations,
        "server_secret": b64_text(release.server_secret),
        "renewal_due": release.renewal_due,
    }


@never_cache
@sensitive_post_parameters("verifier", "new_verifier", "wrapped_key")
@json_endpoint(CloudPinForm)
def cloud_pin_view(request, data):
    """PIN 변경: old verifier, new verifier and salts, the key rewrapped in the browser."""
    fields = {name: data[name] for name in ("verifier", "new_verifier", "new_verifier_salt", "new_wrap_salt", "wrapped_key")}
    services.cloud_pin_change(
        serial=data["serial"], device_token=request.device_token, bank=request.bank, request=request, **fields
    )
    return {"serial": data["serial"], "message": _("금융인증서 PIN을 변경했습니다.")}


@never_cache
@json_endpoint(CloudSerialForm)
def cloud_renew_prepare_view(request, data):
    """자동 갱신 step 1: a challenge for the old key, fresh material for the new one."""
    challenge, setup = services.cloud_renew_prepare(
        serial=data["serial"],
        device_token=request.device_token,
        bank=request.bank,
        session_key=session_key_of(request),
        request=request,
    )
    cloud_setup_keep(request, "renew", setup)
    return {"challenge": challenge.token, "to_sign": b64_text(challenge.to_sign), **_expiry(challenge), **setup.for_browser()}


@never_cache
@sensitive_post_parameters("r", "old_verifier", "verifier", "wrapped_key")
@json_endpoint(CloudRenewForm)
def cloud_renew_complete_view(request, data):
    """자동 갱신 step 2: old key's signature, new key's proof, the new wrapped key."""
    setup = cloud_setup_take(request, "renew", services.CloudSetup)
    if setup is None:
        raise CertificateRefused(Refusal.CHALLENGE_UNKNOWN)
    certificate = services.certificate_renew_financial(
        bank=request.bank,
        session_key=request.session.session_key or "",
        **CloudRenewForm.service_arguments(data),
        old_verifier=data["old_verifier"],
        verifier=data["verifier"],
        wrapped_key=data["wrapped_key"],
        setup=setup,
        device_token=request.device_token,
        request=request,
    )
    # Shown on the next page (the accounts after a login, the receipt after a transfer).
    expiry = timezone.localtime(certificate.not_after)
    messages.info(request, _("금융인증서가 자동 갱신되었습니다. 새 만료일: %(date)s") % {"date": f"{expiry:%Y-%m-%d}"})
    return issued_answer(certificate, redirect="")


# --- 이용기기 관리 --------------------------------------------------------------------------------


class CloudDeviceStepUpView(StepUpView):
    """이용기기 등록 of this browser: logged in, the login and an SMS code;
    logged out (a new browser, from the certificate window), 본인확인 and SMS.
    The registration consumes the verification."""

    purpose = VerificationGrant.Purpose.CLOUD_DEVICE
    title = gettext_lazy("금융인증서 이용기기 등록")
    lead = gettext_lazy(
        "이 브라우저에서 금융인증서를 쓰려면 휴대폰 인증으로 기기를 등록합니다. "
        "이름, 주민등록번호, 이 은행 계좌와 계좌 비밀번호로 본인확인을 한 뒤 인증번호를 입력해 주세요."
    )
    logged_out_mode = IdentityStepForm.MODE_NAME

    def done(self, grant):
        request = self.request
        with device_token_issue(request) as token:
            services.cloud_device_register(
                grant=grant.token,
                bank=request.bank,
                session_key=request.session.session_key or "",
                device_token=token,
                user_agent=request.headers.get("User-Agent", ""),
                request=request,
            )
        return _("이 기기를 금융인증서 이용기기로 등록했습니다.")

    def next_url(self, grant):
        request = self.request
        if logged_in_customer(request) is not None:
            return reverse("certificates:cloud_devices", kwargs={"bank": request.bank.slug})
        target = request.GET.get("next")
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
            return target
        return reverse("accounts:login", kwargs={"bank": request.bank.slug})


cloud_device_register_view = CloudDeviceStepUpView.as_view()


@customer_required
def cloud_devices_view(request):
    """The customer's 금융인증서 devices: list and remove (registering this browser is CloudDeviceStepUpView)."""
    customer = request.user
    action = request.POST.get("action") if request.method == "POST" else None
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
        {"devices": devices, "current": current, "limit": settings.CERTBANK_CLOUD_MAX_DEVICES},
    )
