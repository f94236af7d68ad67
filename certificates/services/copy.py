"""인증서 복사: copy a 공동인증서 between two devices through the bank (DESIGN.md §3 "Device copy").

The receiving device (e.g. the phone) opens a copy session with a fresh
ECDH P-256 public key and shows the session's token (as a QR link) and its
8-digit number. The sending device (e.g. the PC) looks the session up,
seals the certificate and its key file for the receiver's key
(static/js/crypto/copy.js: ECDH → HKDF-SHA256 → AES-256-GCM) and uploads
the ciphertext once. The receiver downloads it once and opens it. Both
screens show a confirmation code derived from the two public keys, so a
relay that swapped keys would be caught by the person holding both devices.

No login is needed on either device: the relay only ever holds ciphertext
sealed for a key that never leaves the receiving browser, and the private
key inside it is still encrypted under the certificate password (PBES2 +
SEED, unchanged), so neither the bank nor a database reader gets anything
usable. What the server enforces is the plumbing: one upload, one download
by the receiver's own browser session, three minutes, bounded sizes, and a
throttle on guessing numbers.
"""

import datetime
import hashlib
import hmac
import secrets
from collections.abc import MutableMapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from certificates.challenges import ec_public_key_valid
from certificates.exceptions import CopyRefusal, CopyRefused
from certificates.models import CopySession

# AES-GCM: a 12-byte IV in front and a 16-byte tag at the end of even an
# empty plaintext (NIST SP 800-38D).
MIN_CIPHERTEXT = 12 + 16
LOOKUP_STATE_KEY = "certificate_copy_lookup"


class CopyState:
    WAITING = "waiting"
    UPLOADED = "uploaded"
    DOWNLOADED = "downloaded"


def copy_session_digest(session_key: str) -> str:
    return hashlib.sha256(f"certbank-copy:{session_key}".encode()).hexdigest()


def _is_receiver(copy: CopySession, session_key: str) -> bool:
    return hmac.compare_digest(copy.receiver_session_digest, copy_session_digest(session_key or ""))


def copy_sessions_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete every expired copy session (and so its ciphertext and number)."""
    deleted, _by_model = CopySession.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def copy_session_open(*, bank, session_key: str, receiver_public_key: bytes, request=None) -> CopySession:
    """The receiving device starts a copy: a token, a number and three minutes."""
    # SECURITY: only a real P-256 point is relayed to a sender (invalid-curve attacks).
    if not ec_public_key_valid(receiver_public_key):
        raise CopyRefused(CopyRefusal.BAD_PUBLIC_KEY)
    now = timezone.now()
    copy_sessions_purge(now=now)  # lazily; the management command does it too
    for _attempt in range(10):
        try:
            with transaction.atomic():
                copy = CopySession.objects.create(
                    token=secrets.token_urlsafe(32),
                    number=f"{secrets.randbelow(10**8):08d}",
                    bank=bank,
                    receiver_session_digest=copy_session_digest(session_key),
                    receiver_public_key=bytes(receiver_public_key),
                    created_at=now,
                    expires_at=now + datetime.timedelta(seconds=settings.CERTBANK_COPY_SECONDS),
                )
                audit_record(action=Action.CERTIFICATE_COPY_OPENED, bank=bank, request=request, copy_session=copy.pk)
            return copy
        except IntegrityError:
            continue  # the number (or, astronomically unlikely, the token) is taken: draw again
    raise RuntimeError("no free copy number after 10 draws")


def _lookup_throttled(state: MutableMapping, now: datetime.datetime) -> bool:
    until = state.get("until", 0)
    if until and now.timestamp() < until:
        return True
    if until:  # the wait is over: a fresh start
        state.clear()
    return False


def _lookup_failed(state: MutableMapping, now: datetime.datetime, *, bank, request) -> None:
    state["failures"] = state.get("failures", 0) + 1
    if state["failures"] >= settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES:
        state["until"] = now.timestamp() + settings.CERTBANK_COPY_LOOKUP_WAIT_SECONDS
        with transaction.atomic():
            audit_record(action=Action.CERTIFICATE_COPY_LOOKUP_LOCKED, bank=bank, request=request)


def _refuse_if_unusable(copy: CopySession, now: datetime.datetime) -> None:
    if copy.cancelled_at is not None:
        raise CopyRefused(CopyRefusal.CANCELLED)
    if copy.is_expired(now):
        _expire(copy)
        raise CopyRefused(CopyRefusal.EXPIRED)


def _expire(copy: CopySession) -> None:
    # SECURITY: an expired relay keeps no ciphertext, whoever asks.
    CopySession.objects.filter(pk=copy.pk).exclude(ciphertext=b"").update(ciphertext=b"")


def copy_session_find(*, bank, lookup_state: MutableMapping, number: str = "", token: str = "", request=None) -> CopySession:
    """The sending device finds the receiver's session by its number (typed)
    or its token (from the QR link). `lookup_state` is the caller's
    per-browser-session throttle record (the view passes a dict kept in the
    Django session); it is updated in place, also when the lookup fails."""
    now = timezone.now()
    # SECURITY: numbers are guessable in principle (10^8, a few live at a time):
    # after CERTBANK_COPY_LOOKUP_MAX_FAILURES wrong ones this browser waits.
    if _lookup_throttled(lookup_state, now):
        raise CopyRefused(CopyRefusal.THROTTLED)
    if token:
        copy = CopySession.objects.filter(bank=bank, token=token).first() if len(token) <= 64 else None
    else:
        digits = "".join(ch for ch in number if not ch.isspace() and ch != "-")
        if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
            raise CopyRefused(CopyRefusal.BAD_NUMBER)
        copy = CopySession.objects.filter(bank=bank, number=digits).first()
    if copy is None:
        _lookup_failed(lookup_state, now, bank=bank, request=request)
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    _refuse_if_unusable(copy, now)
    if copy.uploaded_at is not None:
        raise CopyRefused(CopyRefusal.ALREADY_SENT)
    lookup_state.pop("failures", None)
    return copy


def copy_upload(*, bank, token: str, sender_public_key: bytes, ciphertext: bytes, request=None) -> CopySession:
    """The sealed certificate, once. The token (from the QR or the number
    lookup) is the capability; the confirmation code catches a wrong sender."""
    if not ec_public_key_valid(sender_public_key):
        raise CopyRefused(CopyRefusal.BAD_PUBLIC_KEY)
    # SECURITY: AES-GCM shaped (IV + tag at least) and bounded: the relay is
    # not a free file store.
    if not MIN_CIPHERTEXT <= len(ciphertext) <= settings.CERTBANK_COPY_MAX_CIPHERTEXT:
        raise CopyRefused(CopyRefusal.BAD_CIPHERTEXT)
    copy = CopySession.objects.filter(bank=bank, token=token).first() if token and len(token) <= 64 else None
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    now = timezone.now()
    _refuse_if_unusable(copy, now)
    with transaction.atomic():
        # SECURITY: one upload only. Of concurrent uploads exactly one UPDATE
        # matches `uploaded_at IS NULL`; a later one cannot replace the blob.
        won = CopySession.objects.filter(
            pk=copy.pk, uploaded_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=now
        ).update(sender_public_key=bytes(sender_public_key), ciphertext=bytes(ciphertext), uploaded_at=now)
        if not won:
            raise CopyRefused(CopyRefusal.ALREADY_SENT)
        audit_record(
            action=Action.CERTIFICATE_COPY_UPLOADED, bank=bank, request=request, copy_session=copy.pk, size=len(ciphertext)
        )
    copy.refresh_from_db()
    return copy


def _receiver_copy(*, bank, token: str, session_key: str) -> CopySession:
    copy = CopySession.objects.filter(bank=bank, token=token).first() if token and len(token) <= 64 else None
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    # SECURITY: only the browser session that opened the copy sees its state
    # and receives the ciphertext.
    if not _is_receiver(copy, session_key):
        raise CopyRefused(CopyRefusal.WRONG_SESSION)
    return copy


def copy_status(*, bank, token: str, session_key: str) -> CopySession:
    """The receiver's copy, for polling: refused once expired or cancelled."""
    copy = _receiver_copy(bank=bank, token=token, session_key=session_key)
    if copy.downloaded_at is None:
        _refuse_if_unusable(copy, timezone.now())
    return copy


def copy_state(copy: CopySession) -> str:
    if copy.downloaded_at is not None:
        return CopyState.DOWNLOADED
    if copy.uploaded_at is not None:
        return CopyState.UPLOADED
    return CopyState.WAITING


def copy_download(*, bank, token: str, session_key: str, request=None) -> tuple[bytes, bytes]:
    """(sender_public_key, ciphertext), exactly once, to the receiver's own session."""
    copy = _receiver_copy(bank=bank, token=token, session_key=session_key)
    now = timezone.now()
    if copy.downloaded_at is not None:
        raise CopyRefused(CopyRefusal.ALREADY_RECEIVED)
    _refuse_if_unusable(copy, now)
    if copy.uploaded_at is None:
        raise CopyRefused(CopyRefusal.NOT_YET_SENT)
    # The blob is written once (copy_upload) and read here before the UPDATE
    # that empties it; only the request whose UPDATE wins may return it.
    sender_public_key, ciphertext = bytes(copy.sender_public_key), bytes(copy.ciphertext)
    with transaction.atomic():
        # SECURITY: exactly once. Marking it downloaded and emptying the blob
        # is one statement, so no second reader finds it.
        won = CopySession.objects.filter(
            pk=copy.pk, downloaded_at__isnull=True, uploaded_at__isnull=False, cancelled_at__isnull=True, expires_at__gt=now
        ).update(downloaded_at=now, ciphertext=b"")
        if not won:
            raise CopyRefused(CopyRefusal.ALREADY_RECEIVED)
        audit_record(action=Action.CERTIFICATE_COPY_DOWNLOADED, bank=bank, request=request, copy_session=copy.pk)
    return sender_public_key, ciphertext


def copy_cancel(*, bank, token: str, session_key: str, request=None) -> None:
    """The receiver refuses (e.g. the confirmation codes differ): nothing is kept."""
    copy = _receiver_copy(bank=bank, token=token, session_key=session_key)
    with transaction.atomic():
        won = CopySession.objects.filter(pk=copy.pk, cancelled_at__isnull=True, downloaded_at__isnull=True).update(
            cancelled_at=timezone.now(), ciphertext=b""
        )
        if won:
            audit_record(action=Action.CERTIFICATE_COPY_CANCELLED, bank=bank, request=request, copy_session=copy.pk)


def copy_sender_status(*, bank, token: str) -> str:
    """What the sending page may know after its upload: waiting for the
    receiver, received, cancelled or expired (no key material)."""
    copy = CopySession.objects.filter(bank=bank, token=token).first() if token and len(token) <= 64 else None
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    if copy.downloaded_at is not None:
        return CopyState.DOWNLOADED
    _refuse_if_unusable(copy, timezone.now())
    return copy_state(copy)
