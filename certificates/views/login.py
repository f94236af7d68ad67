"""Challenges and certificate login."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.decorators import logged_in_customer
from bank.http import b64_text, json_endpoint, json_error, json_malformed, login_in_one_transaction
from certificates.challenges import challenge_create
from certificates.exceptions import CertificateRefused, Refusal
from certificates.forms import ChallengeRequestForm, SignedForm
from certificates.models import Certificate, Challenge
from certificates.views.issuance import issue_grant
from certificates.views.registration import register_grant
from flows.views import session_key_of

# --- Challenges and certificate login ------------------------------------------------------------


@json_endpoint(ChallengeRequestForm)
def challenge_view(request, data):
    """A fresh challenge for this session: to log in, renew, or, after their
    verification, to issue or register."""
    purpose = data["purpose"]
    kind = Certificate.Kind.JOINT
    if purpose == Challenge.Purpose.LOGIN:
        customer = None
    elif purpose == Challenge.Purpose.REGISTER:
        # SECURITY: a registration challenge only for a finished verification, made out to its person.
        grant = register_grant(request)
        if grant is None:
            raise CertificateRefused(Refusal.NOT_VERIFIED)
        customer = grant.customer
    elif purpose == Challenge.Purpose.RENEW:
        customer = logged_in_customer(request)
        if customer is None:
            return json_error(_("로그인이 필요합니다. 다시 로그인해 주세요."), status=401, code="login_required")
    elif purpose == Challenge.Purpose.ISSUE:
        # SECURITY: an issuance challenge only after identity verification, made out to the verified person.
        grant = issue_grant(request)
        if grant is None:
            raise CertificateRefused(Refusal.NOT_VERIFIED)
        customer = grant.customer
        kind = grant.detail.get("kind") or Certificate.Kind.JOINT
    else:  # transfers make their own, from the review page
        return json_malformed()
    challenge = challenge_create(
        purpose=purpose, bank=request.bank, session_key=session_key_of(request), customer=customer, kind=kind
    )
    return {
        "challenge": challenge.token,
        "to_sign": b64_text(challenge.to_sign),
        "text": bytes(challenge.to_sign).decode("utf-8"),
        "expires_in": settings.CERTBANK_CHALLENGE_SECONDS,
        "expires_at": challenge.expires_at.isoformat(),
    }


@json_endpoint(SignedForm)
def certificate_login_view(request, data):
    # A refusal (and a network that sent too many bad signatures: 429 with Retry-After) is the adapter's answer.
    customer = login_in_one_transaction(
        request, bank=request.bank, certificate=data["certificate"], signature=data["signature"], challenge=data["challenge"]
    )
    if customer is None:
        raise CertificateRefused(Refusal.CUSTOMER_INACTIVE)
    return {"redirect": reverse("banking:accounts", kwargs={"bank": request.bank.slug})}
