"""인증서 관리: list, detail, download, renewal, suspension, loss report, restoration."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.decorators import customer_required, logged_in_customer
from bank.http import json_endpoint, json_login_required
from certificates import selectors, services
from certificates.exceptions import InvalidTransition
from certificates.forms import RenewForm
from certificates.models import Certificate
from certificates.views.common import issued_answer
from flows.views import StepUpView

# --- 인증서 관리 (my certificates) ------------------------------------------------------------------


def _own_certificate(request, serial: str) -> Certificate:
    # SECURITY: only the logged-in person's certificates (any bank), by serial.
    return get_object_or_404(
        Certificate.objects.select_related("issuing_bank"), serial=serial.lower(), person_index=request.user.rrn_index
    )


def manage_view(request):
    """인증센터: a logged-in customer's certificates; for a visitor, what can be
    done without logging in (발급·재발급, 타행/타기관 등록, 가져오기)."""
    if logged_in_customer(request) is None:
        return render(request, "certificates/center.html")
    return _manage(request)


def _manage(request):
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


@json_login_required
@sensitive_post_parameters("r")
@json_endpoint(RenewForm)
def renew_complete_view(request, data):
    certificate = services.certificate_renew(
        customer=request.user,
        bank=request.bank,
        session_key=request.session.session_key or "",
        request=request,
        **RenewForm.service_arguments(data),
    )
    return issued_answer(certificate, redirect=reverse("certificates:manage", kwargs={"bank": request.bank.slug}))


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


class StatusStepUpView(StepUpView):
    """폐기 (분실 신고) or 효력회복 of one of the customer's certificates: the
    verification (본인확인, OTP if enrolled, SMS), then the change itself,
    which consumes it."""

    template_name = "certificates/status_start.html"
    lead = " "  # the page's own intro says what happens
    services = {
        "revoke": (services.certificate_revoke_by_customer, _lazy("인증서를 폐기했습니다. 폐기한 인증서는 다시 쓸 수 없습니다.")),
        "restore": (services.certificate_restore_by_customer, _lazy("인증서 효력을 회복했습니다.")),
    }
    titles = {"revoke": _lazy("인증서 폐기 (분실 신고)"), "restore": _lazy("인증서 효력회복")}

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.purpose = kwargs["purpose"]
        self.title = self.titles[self.purpose]

    def dispatch(self, request, *args, **kwargs):
        if logged_in_customer(request) is not None:
            self.certificate = _own_certificate(request, kwargs["serial"])
        return super().dispatch(request, *args, **kwargs)

    def fixed_detail(self):
        return {"serial": self.certificate.serial}

    def extra_context(self):
        return {"certificate": self.certificate}

    def done(self, grant):
        request = self.request
        service, message = self.services[self.purpose]
        # A refusal (InvalidTransition: "이 인증서는 지금 상태에서 그렇게 바꿀 수 없습니다.") is the base's to show.
        service(
            grant=grant.token,
            bank=request.bank,
            session_key=request.session.session_key or "",
            serial=self.certificate.serial,
            request=request,
        )
        return str(message)

    def next_url(self, grant):
        return reverse("certificates:detail", kwargs={"bank": self.request.bank.slug, "serial": self.certificate.serial})


status_start_view = StatusStepUpView.as_view()
