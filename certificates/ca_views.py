"""The CA's public endpoints: the CRL (RFC 5280), the OCSP responder
(RFC 6960) and the CPS summary page that every certificate names. HTTP
adapters only: everything signed comes from certificates.ca, and no code
here touches `cryptography` (STYLE.md).

The CRL, the OCSP responder and the CA certificates also answer over plain
http in production (bank/settings.py SECURE_REDIRECT_EXEMPT, RFC 5280 §8):
they set no cookie and need no session.
"""

import base64
import binascii

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from certificates import ca
from certificates.services import EXPIRY_NOTICE_DAYS, RENEWAL_WINDOW

# RFC 2585 §4.2 (CRL) and RFC 6960 Appendix C (OCSP) register these types.
CRL_CONTENT_TYPE = "application/pkix-crl"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
# A single-certificate OCSPRequest is a few hundred bytes; refuse to read more.
OCSP_MAX_REQUEST_BYTES = 10 * 1024
# RFC 5019 §6.2: OCSP answers may be cached briefly; status is read live, so
# keep it short. no-transform: a proxy must not touch signed bytes.
OCSP_CACHE_CONTROL = "public, max-age=60, no-transform"


@require_GET
def ca_crl_view(request):
    publication = ca.crl_current()
    response = HttpResponse(bytes(publication.der), content_type=CRL_CONTENT_TYPE)
    # The CRL is good until its nextUpdate; caches may keep it that long.
    seconds = max(0, int((publication.next_update - timezone.now()).total_seconds()))
    response["Cache-Control"] = f"public, max-age={seconds}, no-transform"
    response["Last-Modified"] = http_date(publication.this_update.timestamp())
    response["Expires"] = http_date(publication.next_update.timestamp())
    response["Content-Disposition"] = 'inline; filename="issuing.crl"'
    return response


# OCSP is a public, read-only protocol: a response only states facts the CA
# publishes anyway and changes nothing, and OCSP clients (openssl, browsers,
# libraries) cannot send a CSRF token. Hence csrf_exempt on both forms.
@csrf_exempt
@require_POST
def ca_ocsp_post_view(request):
    # SECURITY: bound the body before reading it; an oversized or unreadable
    # one is answered as malformedRequest, like any other junk. The content
    # type is not checked: the DER parse is the real test of the body.
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = OCSP_MAX_REQUEST_BYTES + 1
    if not 0 < length <= OCSP_MAX_REQUEST_BYTES:
        return _ocsp_http(ca.ocsp_malformed_response())
    return _ocsp_http(ca.ocsp_respond(request.body))


@csrf_exempt
@require_GET
def ca_ocsp_get_view(request, encoded: str):
    """RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}.

    Django has already undone the URL encoding; accept standard and URL-safe
    base64 alike, with or without padding.
    """
    # SECURITY: bounded and strictly decoded; junk gets malformedRequest.
    if len(encoded) > OCSP_MAX_REQUEST_BYTES * 4 // 3 + 4:
        return _ocsp_http(ca.ocsp_malformed_response())
    text = encoded.strip().replace("-", "+").replace("_", "/")
    try:
        der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return _ocsp_http(ca.ocsp_malformed_response())
    return _ocsp_http(ca.ocsp_respond(der))


def _ocsp_http(der: bytes) -> HttpResponse:
    # RFC 6960 Appendix A.1: errors are OCSP responses too, sent with HTTP 200.
    response = HttpResponse(der, content_type=OCSP_RESPONSE_CONTENT_TYPE)
    response["Cache-Control"] = OCSP_CACHE_CONTROL
    return response


@require_GET
def ca_cps_view(request):
    """인증업무준칙 요약 (CPS summary, RFC 3647 outline): the page at the CPS URI
    in every certificate's certificatePolicies (certificates.ca.ca_addresses).
    The figures come from the settings the CA and the services apply."""
    addresses = ca.ca_addresses(settings.CERTBANK_PUBLIC_URL)
    context = {
        "root_name": ca.ROOT_SUBJECT.rfc4514_string(),
        "issuing_name": ca.ISSUING_SUBJECT.rfc4514_string(),
        "policy_joint": ca.POLICY_OIDS[ca.KIND_JOINT].dotted_string,
        "policy_financial": ca.POLICY_OIDS[ca.KIND_FINANCIAL].dotted_string,
        "policy_notice": ca.POLICY_NOTICE,
        "years_joint": ca.KIND_YEARS[ca.KIND_JOINT],
        "years_financial": ca.KIND_YEARS[ca.KIND_FINANCIAL],
        "renewal_days": RENEWAL_WINDOW.days,
        "cloud_renewal_days": settings.CERTBANK_CLOUD_RENEWAL_DAYS,
        "notice_days": EXPIRY_NOTICE_DAYS,
        "min_rsa_bits": settings.CERTBANK_MIN_RSA_BITS,
        "ca_key_bits": settings.CERTBANK_CA_KEY_BITS,
        "ca_hash": settings.CERTBANK_CA_SIGNATURE_HASH.upper().replace("SHA", "SHA-"),
        "cloud_pin_failures": settings.CERTBANK_CLOUD_MAX_PIN_FAILURES,
        "cloud_devices": settings.CERTBANK_CLOUD_MAX_DEVICES,
        "crl_hours": settings.CERTBANK_CRL_VALIDITY_HOURS,
        "addresses": addresses,
    }
    return render(request, "certificates/cps.html", context)
