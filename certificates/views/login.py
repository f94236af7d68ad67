"""Challenges and certificate login."""

import base64

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Challenge
from certificates.views.common import (
    _b64_field,
    _BadField,
    _ensure_session,
    _issue_verified,
    _refusal_response,
    _register_verified,
)

# --- Challenges and certificate login ------------------------------------------------------------


@require_POST
def challenge_view(request):
    """A fresh challenge for this session: purpose "login" or "issue"."""
    purpose = request.POST.get("purpose")
    if purpose == Challenge.Purpose.LOGIN:
        customer = None
    elif purpose == Challenge.Purpose.REGISTER:
        user = request.user
        # SECURITY: registration needs the extra SMS check first.
        if not (user.is_authenticated and user.bank_id == request.bank.id and _register_verified(request)):
            return _refusal_response(Refusal.NOT_VERIFIED)
        customer = user
    elif purpose == Challenge.Purpose.RENEW:
        user = request.user
        if not (user.is_authenticated and user.bank_id == request.bank.id):
            return JsonResponse({"error": _("로그인이 필요합니다. 다시 로그인해 주세요.")}, status=401)
        customer = user
    elif purpose == Challenge.Purpose.ISSUE:
        user = request.user
        # SECURITY: an issuance challenge only after identity verification.
        if not (user.is_authenticated and user.bank_id == request.bank.id and _issue_verified(request)):
            return _refusal_response(Refusal.NOT_VERIFIED)
        customer = user
    else:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    challenge = challenge_create(purpose=purpose, bank=request.bank, session_key=_ensure_session(request), customer=customer)
    return JsonResponse(
        {
            "challenge": challenge.token,
            "to_sign": base64.b64encode(bytes(challenge.to_sign)).decode("ascii"),
            "text": bytes(challenge.to_sign).decode("utf-8"),
            "expires_in": settings.CERTBANK_CHALLENGE_SECONDS,
        }
    )


@require_POST
def certificate_login_view(request):
    try:
        certificate = _b64_field(request, "certificate")
        signature = _b64_field(request, "signature")
    except _BadField:
        return _refusal_response(Refusal.MALFORMED_REQUEST, status=400)
    try:
        customer = authenticate(
            request,
            bank=request.bank,
            certificate=certificate,
            signature=signature,
            challenge=request.POST.get("challenge", ""),
        )
    except CertificateRefused as exc:
        return _refusal_response(exc.reason)
    if customer is None:
        return _refusal_response(Refusal.CUSTOMER_INACTIVE)
    login(request, customer)
    return JsonResponse({"redirect": reverse("banking:accounts", kwargs={"bank": request.bank.slug})})
