"""What the certificate views share: the answer after issuance or renewal,
and the fresh 금융인증서 key material a session holds between two requests.
(The JSON plumbing is bank.http's, for every app.)"""

from django.http import JsonResponse
from django.utils import timezone

from bank.http import b64_text

# Fresh 금융인증서 key material (sealed server secret, salts) by purpose: "issue", "renew".
CLOUD_SETUP_SESSION_KEY = "cloud_setup"


def issued_answer(certificate, *, redirect: str) -> JsonResponse:
    """What the browser needs after issuance or renewal to store the certificate."""
    return JsonResponse(
        {
            "certificate": b64_text(certificate.der),
            "serial": certificate.serial,
            "subject": certificate.subject,
            "not_after": timezone.localtime(certificate.not_after).strftime("%Y-%m-%d"),
            # The certificates this one revoked: the browser drops them from its store.
            "replaced": getattr(certificate, "replaced_serials", []),
            "redirect": redirect,
        }
    )


def cloud_setup_keep(request, purpose: str, setup) -> None:
    state = request.session.get(CLOUD_SETUP_SESSION_KEY) or {}
    state[purpose] = setup.to_session()
    request.session[CLOUD_SETUP_SESSION_KEY] = state


def cloud_setup_take(request, purpose: str, setup_class):
    """The key material handed out for `purpose`, once."""
    state = request.session.get(CLOUD_SETUP_SESSION_KEY) or {}
    setup = setup_class.from_session(state.pop(purpose, None))
    request.session[CLOUD_SETUP_SESSION_KEY] = state
    return setup
