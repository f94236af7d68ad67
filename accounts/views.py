"""HTTP adapters for customer flows: bind a form, call one service, render."""

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import designation, services
from accounts.decorators import customer_required, demo_only
from accounts.device import device_digest, device_token_issue
from accounts.exceptions import SmsCodeInvalid
from accounts.forms import (
    DeviceDesignateForm,
    LoginForm,
    NewPasswordForm,
    OtpConfirmForm,
    SignupForm,
    SignupVerifyForm,
)
from accounts.models import Customer, VerificationGrant
from audit.models import Action
from audit.services import audit_record
from bank.http import login_in_one_transaction
from bank.middleware import idle_renew, idle_seconds_left
from core.errors import DomainError
from core.models import SmsMessage
from core.phone import format_phone
from core.qr import qr_svg
from flows import signup, unlock
from flows.forms import IdentityStepForm
from flows.views import StepUpView, grant_forget, session_grant

SIGNUP_SESSION_KEY = "signup_customer"


def _home(request):
    return redirect("banking:home", bank=request.bank.slug)


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


@sensitive_post_parameters("password")
def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = login_in_one_transaction(
                request, bank=request.bank, login_id=form.cleaned_data["login_id"], password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if customer is not None:
                return redirect(_safe_next(request) or reverse("banking:accounts", kwargs={"bank": request.bank.slug}))
            form.add_error(None, _("아이디 또는 비밀번호가 올바르지 않습니다."))
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request) or ""})


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        audit_record(action=Action.LOGOUT, customer=request.user, bank=request.user.bank, request=request)
    logout(request)
    messages.success(request, _("안전하게 로그아웃되었습니다."))
    return _home(request)


@sensitive_post_parameters("rrn", "password1", "password2")
def signup_view(request):
    form = SignupForm(request.POST or None, today=timezone.localdate())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = signup.customer_signup_start(
                bank=request.bank,
                name=data["name"],
                rrn=data["rrn"],
                phone=data["phone"],
                email=data["email"],
                login_id=data["login_id"],
                password=data["password1"],
                request=request,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[SIGNUP_SESSION_KEY] = customer.pk
            return redirect("accounts:signup_verify", bank=request.bank.slug)
    return render(request, "accounts/signup.html", {"form": form})


def _pending(request, key) -> Customer | None:
    pk = request.session.get(key)
    if pk is None:
        return None
    return Customer.objects.select_related("bank").filter(pk=pk, bank=request.bank).first()


@sensitive_post_parameters("code", "pin1", "pin2")
def signup_verify_view(request):
    customer = _pending(request, SIGNUP_SESSION_KEY)
    if customer is None or customer.signup_completed_at is not None:
        return redirect("accounts:signup", bank=request.bank.slug)
    form = SignupVerifyForm()
    if request.method == "POST" and "resend" in request.POST:
        try:
            services.sms_code_send(customer=customer, reason="계좌개설", bind=signup.SMS_BIND, request=request)
            messages.success(request, _("인증번호를 다시 보냈습니다."))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("accounts:signup_verify", bank=request.bank.slug)
    if request.method == "POST":
        form = SignupVerifyForm(request.POST)
        if form.is_valid():
            try:
                account = signup.customer_signup_complete(
                    customer=customer, code=form.cleaned_data["code"], pin=form.cleaned_data["pin1"], request=request
                )
            except DomainError as exc:
                form.add_error("code" if isinstance(exc, SmsCodeInvalid) else None, exc.message)
            else:
                del request.session[SIGNUP_SESSION_KEY]
                return render(request, "accounts/signup_done.html", {"customer": customer, "account": account})
    context = {"form": form, "customer": customer, "phone": format_phone(customer.phone)}
    return render(request, "accounts/signup_verify.html", context)


class UnlockStepUpView(StepUpView):
    """비밀번호 재설정 · 로그인 잠금 해제, step 1: 본인확인 by login ID, RRN and an
    account with its PIN, then SMS."""

    purpose = VerificationGrant.Purpose.UNLOCK
    title = gettext_lazy("비밀번호 재설정 · 로그인 잠금 해제")
    lead = gettext_lazy("주민등록번호와 보유 계좌의 비밀번호로 본인을 확인한 뒤, 등록된 휴대폰으로 인증번호를 보내 드립니다.")
    logged_out_mode = IdentityStepForm.MODE_LOGIN_ID

    def next_url(self, grant):
        return reverse("accounts:unlock_verify", kwargs={"bank": self.request.bank.slug})


unlock_view = UnlockStepUpView.as_view()


def _unlock_grant(request):
    return session_grant(request, VerificationGrant.Purpose.UNLOCK, finished=True)


@sensitive_post_parameters("password1", "password2")
def unlock_verify_view(request):
    """Step 2: the new password; the reset consumes the verification."""
    grant = _unlock_grant(request)
    if grant is None:
        return redirect("accounts:unlock", bank=request.bank.slug)
    form = NewPasswordForm(request.POST or None, customer=grant.customer)
    if request.method == "POST" and form.is_valid():
        try:
            unlock.login_unlock_complete(
                grant=grant.token,
                bank=request.bank,
                session_key=request.session.session_key or "",
                new_password=form.cleaned_data["password1"],
                request=request,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            grant_forget(request, VerificationGrant.Purpose.UNLOCK)
            messages.success(request, _("비밀번호를 재설정했습니다. 새 비밀번호로 로그인해 주세요."))
            return redirect("accounts:login", bank=request.bank.slug)
    return render(request, "accounts/unlock_verify.html", {"form": form})


@customer_required
def otp_view(request):
    device = services.otp_device(customer=request.user)
    if device is not None:
        return render(request, "accounts/otp_enrolled.html", {"device": device})
    pending = services.otp_enrolment_start(customer=request.user)
    form = OtpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.otp_enrolment_confirm(customer=request.user, code=form.cleaned_data["code"], request=request)
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, _("OTP를 등록했습니다. 이체 등 중요한 거래에 사용합니다."))
            return redirect("accounts:otp", bank=request.bank.slug)
    context = {
        "form": form,
        "qr_svg": qr_svg(pending.config_url),
        "secret": _base32_groups(pending),
        "otpauth_uri": pending.config_url,
    }
    return render(request, "accounts/otp_enrol.html", context)


def _base32_groups(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_POST
def session_extend_view(request):
    """The 연장 button: any authenticated request renews the idle timer."""
    if not request.user.is_authenticated:
        message = _("로그인이 필요합니다. 다시 로그인해 주세요.")
        return JsonResponse({"seconds_left": 0, "logged_in": False, "error": message, "code": "login_required"}, status=401)
    idle_renew(request)  # the button always restarts the countdown, however recent the stamp
    return JsonResponse({"seconds_left": idle_seconds_left(request), "logged_in": True})


@demo_only
def demo_phone_view(request):
    """내 휴대폰 (demo): the SMS outbox for one phone number."""
    phone = "".join(ch for ch in request.GET.get("phone", "") if ch.isdigit())[:11]
    if not phone:
        pending = _pending(request, SIGNUP_SESSION_KEY) or _verifying_customer(request)
        if pending is not None:
            phone = pending.phone
        elif request.user.is_authenticated and request.user.phone:
            phone = request.user.phone
    sms = SmsMessage.objects.filter(phone=phone)[:20] if phone else []
    return render(
        request, "accounts/demo_phone.html", {"phone": phone, "phone_display": format_phone(phone), "messages_list": sms}
    )


@demo_only
@customer_required
@sensitive_variables("device")
def demo_otp_view(request):
    """내 OTP (demo): the current code of the customer's OTP, for visitors without an app."""
    device = services.otp_device(customer=request.user)
    context = {"device": device}
    if device is not None:
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        now = timezone.now().timestamp()
        totp.time = now
        context.update(code=f"{totp.token():0{device.digits}d}", seconds_left=int(device.step - (now - device.t0) % device.step))
    return render(request, "accounts/demo_otp.html", context)


class DesignateStepUpView(StepUpView):
    """단말기 지정 of this browser: the login and an SMS code (DESIGNATE); the
    designation consumes the verification."""

    purpose = VerificationGrant.Purpose.DESIGNATE
    title = gettext_lazy("이 단말기 지정")
    detail_form_class = DeviceDesignateForm

    def done(self, grant):
        request = self.request
        with device_token_issue(request) as token:
            designation.device_designate(
                customer=request.user,
                grant=grant.token,
                session_key=request.session.session_key or "",
                device_token=token,
                name=grant.detail.get("name") or "",
                request=request,
            )
        return _("이 단말기를 지정했습니다.")

    def next_url(self, grant):
        return reverse("accounts:devices", kwargs={"bank": self.request.bank.slug})


device_designate_view = DesignateStepUpView.as_view()


@customer_required
def devices_view(request):
    """단말기 지정: the list, and where to designate this browser or release one."""
    devices = list(designation.designated_devices(customer=request.user))
    here = device_digest(request.device_token)
    context = {
        "devices": devices,
        "this_designated": any(device.token_digest == here for device in devices),
        "this_digest": here,
        "limit": settings.CERTBANK_DESIGNATED_DEVICES_MAX,
        "sms_threshold": settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD,
    }
    return render(request, "accounts/devices.html", context)


@require_POST
@customer_required
def device_release_view(request, pk):
    if designation.device_release(customer=request.user, pk=pk, request=request):
        messages.success(request, _("단말기 지정을 해제했습니다."))
    return redirect("accounts:devices", bank=request.bank.slug)


def _verifying_customer(request):
    """The person a verification in this session is for, logged out (the
    demo phone shows their SMS): a password reset, an issuance, a registration."""
    for purpose in VerificationGrant.Purpose.values:
        grant = session_grant(request, purpose)
        if grant is not None:
            return grant.customer
    return None
