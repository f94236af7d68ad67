"""인증서 복사: the two pages (가져오기 on the receiving device, 내보내기 on the
sending one) and their JSON endpoints, in protocol order (open, find, join,
reveal, upload, download; certificates.services.copy explains the order). No
login on either device (the same module explains why that is safe); each
endpoint answers only the browser session its step belongs to: the one that
opened the copy, or the one that joined it as the sender."""

import base64
import math

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bank.http import b64_text, json_endpoint
from certificates import services
from certificates.forms import CopyFindForm, CopyForm, CopyJoinForm, CopyOpenForm, CopyRevealForm, CopyUploadForm
from certificates.services.copy import LOOKUP_STATE_KEY
from core.clients import request_network
from core.qr import qr_svg
from flows.views import session_key_of


def _b64url_text(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _seconds_left(copy) -> int:
    # Rounded up: the page's countdown must not end before the server's.
    return max(0, math.ceil((copy.expires_at - timezone.now()).total_seconds()))


def _state(copy) -> dict:
    """Where the copy stands, and its time left: what each polling step answers."""
    return {"state": services.copy_state(copy), "expires_in": _seconds_left(copy)}


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
    session_key_of(request)
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
    session_key_of(request)
    return render(request, "certificates/copy_send.html", {"urls": _copy_urls(request)})


# --- Receiver endpoints --------------------------------------------------------------------------


def _session_key(request) -> str:
    return request.session.session_key or ""


@json_endpoint(CopyOpenForm)
def copy_open_view(request, data):
    copy = services.copy_session_open(
        bank=request.bank,
        session_key=session_key_of(request),
        receiver_commitment=data["receiver_commitment"],
        client=request_network(request),
        request=request,
    )
    send_url = request.build_absolute_uri(reverse("certificates:copy_send", kwargs={"bank": request.bank.slug}))
    # The commitment rides in the fragment too, so the sending page can check
    # the server's copy of it without trusting the server.
    link = f"{send_url}#t={copy.token}&c={_b64url_text(bytes(copy.receiver_commitment))}"
    return {
        "token": copy.token,
        "number": copy.number,
        "expires_in": _seconds_left(copy),
        "link": link,
        "qr_svg": str(qr_svg(link)),
    }


@json_endpoint(CopyForm)
def copy_status_view(request, data):
    copy = services.copy_status(bank=request.bank, token=data["token"], session_key=_session_key(request))
    answer = _state(copy)
    if copy.joined_at is not None:
        answer["sender_public_key"] = b64_text(copy.sender_public_key)
    return answer


@json_endpoint(CopyRevealForm)
def copy_reveal_view(request, data):
    copy = services.copy_reveal(
        bank=request.bank,
        token=data["token"],
        session_key=_session_key(request),
        receiver_public_key=data["receiver_public_key"],
        request=request,
    )
    return _state(copy)


@json_endpoint(CopyForm)
def copy_download_view(request, data):
    sender_public_key, ciphertext = services.copy_download(
        bank=request.bank, token=data["token"], session_key=_session_key(request), request=request
    )
    return {"sender_public_key": b64_text(sender_public_key), "ciphertext": b64_text(ciphertext)}


@json_endpoint(CopyForm)
def copy_cancel_view(request, data):
    """Either side: the receiver, or the sender that joined."""
    services.copy_cancel(bank=request.bank, token=data["token"], session_key=_session_key(request), request=request)
    return {"state": "cancelled"}


# --- Sender endpoints ----------------------------------------------------------------------------


@json_endpoint(CopyFindForm)
def copy_find_view(request, data):
    session_key_of(request)
    state = dict(request.session.get(LOOKUP_STATE_KEY) or {})
    try:
        copy = services.copy_session_find(
            bank=request.bank,
            lookup_state=state,
            client=request_network(request),
            number=data["number"],
            token=data["token"],
            request=request,
        )
    finally:
        # SECURITY: the wrong-number count is kept even when the lookup fails.
        request.session[LOOKUP_STATE_KEY] = state
    return {
        "token": copy.token,
        "receiver_commitment": b64_text(copy.receiver_commitment),
        "expires_in": _seconds_left(copy),
    }


@json_endpoint(CopyJoinForm)
def copy_join_view(request, data):
    copy = services.copy_join(
        bank=request.bank,
        token=data["token"],
        session_key=session_key_of(request),
        sender_public_key=data["sender_public_key"],
        request=request,
    )
    return _state(copy)


@json_endpoint(CopyForm)
def copy_sent_status_view(request, data):
    copy = services.copy_sender_status(bank=request.bank, token=data["token"], session_key=_session_key(request))
    answer = _state(copy)
    if copy.revealed_at is not None:
        answer["receiver_public_key"] = b64_text(copy.receiver_public_key)
    return answer


@json_endpoint(CopyUploadForm)
def copy_upload_view(request, data):
    services.copy_upload(
        bank=request.bank, token=data["token"], session_key=_session_key(request), ciphertext=data["ciphertext"], request=request
    )
    return {"state": "uploaded"}
