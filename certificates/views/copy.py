"""인증서 복사: the two pages (가져오기 on the receiving device, 내보내기 on the
sending one) and their JSON endpoints, in protocol order (open, find, join,
reveal, upload, download; certificates.services.copy explains the order). No
login on either device (the same module explains why that is safe); each
endpoint answers only the browser session its step belongs to: the one that
opened the copy, or the one that joined it as the sender."""

import base64
import binascii
import math

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from certificates import services
from certificates.exceptions import CopyRefusal, CopyRefused
from certificates.services.copy import COPY_COMMITMENT_BYTES, LOOKUP_STATE_KEY
from certificates.views.common import _ensure_session
from core.clients import request_network
from core.qr import qr_svg

_EC_POINT_BYTES = 65


class _BadField(Exception):
    pass


def _b64(request, name: str, limit: int) -> bytes:
    """A base64 POST field, strictly decoded, at most `limit` bytes."""
    value = request.POST.get(name, "")
    if not value or len(value) > limit * 4 // 3 + 4:
        raise _BadField(name)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _BadField(name) from None


def _b64_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64url_text(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _refused(reason: CopyRefusal) -> JsonResponse:
    return _refused_exc(CopyRefused(reason))


def _refused_exc(exc: CopyRefused) -> JsonResponse:
    return JsonResponse({"error": str(exc.message), "code": exc.reason.value}, status=exc.status)


def _seconds_left(copy) -> int:
    # Rounded up: the page's countdown must not end before the server's.
    return max(0, math.ceil((copy.expires_at - timezone.now()).total_seconds()))


def _copy_urls(request) -> dict:
    slug = request.bank.slug
    return {
        name: reverse(f"certificates:copy_{name}", kwargs={"bank": slug})
        for name in ("open", "status", "reveal", "download", "cancel", "find", "join", "sent_status", "upload")
    }


# --- Pages ---------------------------------------------------------------------------------------


@require_GET
@never_cache
def copy_receive_view(request):
    """인증서 가져오기: this device receives a certificate from another one."""
    _ensure_session(request)
    return render(
        request,
        "certificates/copy_receive.html",
        {"urls": _copy_urls(request), "copy_seconds": settings.CERTBANK_COPY_SECONDS},
    )


@require_GET
@never_cache
def copy_send_view(request):
    """인증서 내보내기: send a certificate of this device to the one showing the number.
    The QR link carries the token and the receiver's commitment in the fragment
    (#t=…&c=…), which never reaches the server."""
    _ensure_session(request)
    return render(request, "certificates/copy_send.html", {"urls": _copy_urls(request)})


# --- Receiver endpoints --------------------------------------------------------------------------


def _client(request) -> str:
    return request_network(request)


def _session_key(request) -> str:
    return request.session.session_key or ""


@require_POST
def copy_open_view(request):
    try:
        commitment = _b64(request, "receiver_commitment", COPY_COMMITMENT_BYTES)
    except _BadField:
        return _refused(CopyRefusal.BAD_COMMITMENT)
    try:
        copy = services.copy_session_open(
            bank=request.bank,
            session_key=_ensure_session(request),
            receiver_commitment=commitment,
            client=_client(request),
            request=request,
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    send_url = request.build_absolute_uri(reverse("certificates:copy_send", kwargs={"bank": request.bank.slug}))
    # The commitment rides in the fragment too, so the sending page can check
    # the server's copy of it without trusting the server.
    link = f"{send_url}#t={copy.token}&c={_b64url_text(bytes(copy.receiver_commitment))}"
    return JsonResponse(
        {
            "token": copy.token,
            "number": copy.number,
            "expires_in": _seconds_left(copy),
            "link": link,
            "qr_svg": str(qr_svg(link)),
        }
    )


@require_POST
def copy_status_view(request):
    try:
        copy = services.copy_status(bank=request.bank, token=request.POST.get("token", ""), session_key=_session_key(request))
    except CopyRefused as exc:
        return _refused_exc(exc)
    answer = {"state": services.copy_state(copy), "expires_in": _seconds_left(copy)}
    if copy.joined_at is not None:
        answer["sender_public_key"] = _b64_text(bytes(copy.sender_public_key))
    return JsonResponse(answer)


@require_POST
def copy_reveal_view(request):
    try:
        public_key = _b64(request, "receiver_public_key", _EC_POINT_BYTES)
    except _BadField:
        return _refused(CopyRefusal.BAD_PUBLIC_KEY)
    try:
        copy = services.copy_reveal(
            bank=request.bank,
            token=request.POST.get("token", ""),
            session_key=_session_key(request),
            receiver_public_key=public_key,
            request=request,
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    return JsonResponse({"state": services.copy_state(copy), "expires_in": _seconds_left(copy)})


@require_POST
def copy_download_view(request):
    try:
        sender_public_key, ciphertext = services.copy_download(
            bank=request.bank, token=request.POST.get("token", ""), session_key=_session_key(request), request=request
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    return JsonResponse({"sender_public_key": _b64_text(sender_public_key), "ciphertext": _b64_text(ciphertext)})


@require_POST
def copy_cancel_view(request):
    """Either side: the receiver, or the sender that joined."""
    try:
        services.copy_cancel(
            bank=request.bank, token=request.POST.get("token", ""), session_key=_session_key(request), request=request
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    return JsonResponse({"state": "cancelled"})


# --- Sender endpoints ----------------------------------------------------------------------------


@require_POST
def copy_find_view(request):
    _ensure_session(request)
    state = dict(request.session.get(LOOKUP_STATE_KEY) or {})
    try:
        copy = services.copy_session_find(
            bank=request.bank,
            lookup_state=state,
            client=_client(request),
            number=request.POST.get("number", "")[:32],
            token=request.POST.get("token", ""),
            request=request,
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    finally:
        # SECURITY: the wrong-number count is kept even when the lookup fails.
        request.session[LOOKUP_STATE_KEY] = state
    return JsonResponse(
        {
            "token": copy.token,
            "receiver_commitment": _b64_text(bytes(copy.receiver_commitment)),
            "expires_in": _seconds_left(copy),
        }
    )


@require_POST
def copy_join_view(request):
    try:
        public_key = _b64(request, "sender_public_key", _EC_POINT_BYTES)
    except _BadField:
        return _refused(CopyRefusal.BAD_PUBLIC_KEY)
    try:
        copy = services.copy_join(
            bank=request.bank,
            token=request.POST.get("token", ""),
            session_key=_ensure_session(request),
            sender_public_key=public_key,
            request=request,
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    return JsonResponse({"state": services.copy_state(copy), "expires_in": _seconds_left(copy)})


@require_POST
def copy_sent_status_view(request):
    try:
        copy = services.copy_sender_status(
            bank=request.bank, token=request.POST.get("token", ""), session_key=_session_key(request)
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    answer = {"state": services.copy_state(copy), "expires_in": _seconds_left(copy)}
    if copy.revealed_at is not None:
        answer["receiver_public_key"] = _b64_text(bytes(copy.receiver_public_key))
    return JsonResponse(answer)


@require_POST
def copy_upload_view(request):
    try:
        # Twice the cap, so that an oversized blob gets the service's own answer.
        ciphertext = _b64(request, "ciphertext", 2 * settings.CERTBANK_COPY_MAX_CIPHERTEXT)
    except _BadField:
        return _refused(CopyRefusal.BAD_CIPHERTEXT)
    try:
        services.copy_upload(
            bank=request.bank,
            token=request.POST.get("token", ""),
            session_key=_session_key(request),
            ciphertext=ciphertext,
            request=request,
        )
    except CopyRefused as exc:
        return _refused_exc(exc)
    return JsonResponse({"state": "uploaded"})
