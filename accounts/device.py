"""This browser as a device: a random token in a long-lived, HttpOnly cookie.

The 금융인증서 cloud releases keys only to registered devices, and transfers
of 3,000,000원 or more a day need the extra SMS check unless made from a
designated device (DESIGN.md §1). Both recognise a browser by this token.
The database keeps only its SHA-256 digest, so a dump names no live device.
A script on the page cannot read it (HttpOnly); a copied cookie is the
same device, as with a copied browser profile.
"""

import hashlib
import re
import secrets

from django.conf import settings

DEVICE_COOKIE = "certbank_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 60 * 60  # two years, like a bank's device registration
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def device_digest(token: str) -> str:
    return hashlib.sha256(f"certbank-device:{token}".encode()).hexdigest()


def device_token(request) -> str:
    """This request's device token (created by DeviceMiddleware if missing)."""
    return request.device_token


class DeviceMiddleware:
    """Give every browser a device token; a malformed cookie is replaced."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request.COOKIES.get(DEVICE_COOKIE, "")
        # SECURITY: a crafted cookie value is never stored or echoed; it is replaced.
        fresh = not _TOKEN_SHAPE.match(token)
        if fresh:
            token = secrets.token_urlsafe(32)
        request.device_token = token
        response = self.get_response(request)
        if fresh:
            response.set_cookie(
                DEVICE_COOKIE,
                token,
                max_age=DEVICE_COOKIE_AGE,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        return response
