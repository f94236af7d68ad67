"""This browser as a device: a random token in a long-lived, HttpOnly cookie.

The 금융인증서 cloud releases keys only to registered devices, and transfers
of 3,000,000원 or more a day need the extra SMS check unless made from a
designated device (DESIGN.md §1). Both recognise a browser by this token.
The database keeps only its SHA-256 digest, so a dump names no live device.
A script on the page cannot read it (HttpOnly); a copied cookie is the
same device, as with a copied browser profile.

The cookie is given only when a device must be recognised later: when this
browser is registered (금융인증서 이용기기, 단말기 지정, a 금융인증서 issued
here). An anonymous page, a static file or a CRL sets none, so a visitor is
not tagged for two years by merely looking. Reading the token never creates
one: a browser without it is simply no registered device.
"""

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

DEVICE_COOKIE = "certbank_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 60 * 60  # two years, like a bank's device registration
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32), matched whole
_ISSUED = "_certbank_device_issued"


def device_digest(token: str) -> str:
    return hashlib.sha256(f"certbank-device:{token}".encode()).hexdigest()


def device_token(request) -> str:
    """This browser's device token, or "" when it has none (never sets a cookie)."""
    return getattr(request, "device_token", "")


@contextmanager
def device_token_issue(request) -> Iterator[str]:
    """This browser's device token for a flow that registers it as a device:

        with device_token_issue(request) as token:
            device_designate(..., device_token=token)

    A browser without one gets a new token, and the cookie goes out with this
    response only when the block ends without an error: a refused
    registration (device limit, a used verification) tags no one."""
    token = device_token(request) or secrets.token_urlsafe(32)
    yield token
    if token != device_token(request):
        request.device_token = token
        setattr(request, _ISSUED, True)


class DeviceMiddleware:
    """Read the device cookie; set it only on a response whose view issued a token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.COOKIES.get(DEVICE_COOKIE)
        # SECURITY: a crafted cookie value is never stored, looked up or echoed:
        # it counts as no device, and the browser is told to drop it.
        valid = sent is not None and _TOKEN_SHAPE.fullmatch(sent) is not None
        request.device_token = sent if valid else ""
        response = self.get_response(request)
        if getattr(request, _ISSUED, False):
            response.set_cookie(
                DEVICE_COOKIE,
                request.device_token,
                max_age=DEVICE_COOKIE_AGE,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        elif sent is not None and not valid:
            response.delete_cookie(DEVICE_COOKIE, samesite="Lax")
        return response
