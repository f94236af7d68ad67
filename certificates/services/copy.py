"""인증서 복사: copy a 공동인증서 between two devices through the bank (DESIGN.md §3 "Device copy").

Protocol v2: commit, reveal, compare, then seal.

1. open: the receiving device (e.g. the phone) makes an ECDH P-256 key pair
   R and opens a copy session with a commitment to it,
   C = SHA-256("certbank-copy-commit-v1" || 0x00 || R) (not R itself). It
   shows the session's 8-digit number and a QR link `…/copy/send/#t=<token>
   &c=<base64url(C)>` (the fragment never reaches the server).
2. find + join: the sending device (e.g. the PC) looks the session up and
   gets C; on the QR path it checks the server's C against the fragment's.
   The person picks the certificate (its password is checked on the PC);
   the PC then makes its ECDH key pair S and joins with S: once per session,
   and the join binds the sender's browser session.
3. reveal: the receiver, polling, gets S and only then reveals R; the server
   refuses an R that does not match C. The receiver shows code(R, S).
4. compare: the sender gets R, checks it against C itself, and shows
   code(R, S). Only when the person confirms that both screens show the same
   code does the sender seal the certificate and its key file for R
   (static/js/crypto/copy.js: ECDH → HKDF-SHA256 → AES-256-GCM, token as
   AAD) and upload it, once.
5. download: the receiver downloads once, opens, and the person stores it.

Why a relay (the bank's server itself, or whoever controls its store) that
swaps keys is caught: it must give the sender a commitment before it sees S,
and must give the receiver a key S' before the receiver reveals R. So each
screen's code is fixed before the relay learns what it would need to make it
equal the other: the sender's code(R', S) is fixed by R' (committed) and S
(random, chosen after the commitment), the receiver's code(R, S') by S'
(given) and R (committed to before, revealed after). A swap goes unnoticed
with probability 10^-6 per session, and each session is single use (one
join, one reveal, one upload, one download). And nothing is sealed until the
person has compared the codes, so a swapped key receives nothing, not even
the password-encrypted key file. (The v1 flow sealed at once for whatever R
the relay returned and let the relay grind S' against a known S.)

What this does not cover: the pages' JavaScript is served by the bank too;
the protocol defends the relayed data (a compromised relay store, a proxy in
the path, an insider with database access), not a server that ships altered
code.

No login is needed on either device: the relay only ever holds ciphertext
sealed for a key that never leaves the receiving browser, and the private
key inside it is still encrypted under the certificate password (PBES2 +
SEED, unchanged). What the server enforces is the plumbing: the order of the
steps, who may take each (the receiver's and the joined sender's browser
sessions), three minutes, bounded sizes, and throttles on guessing numbers
and on opening sessions (per browser session and per client network).
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
from certificates.exceptions import CopyRefusal, CopyRefused
from certificates.models import CopyClientCounter, CopySession
from certificates.verify import COPY_COMMITMENT_BYTES, copy_commitment_matches, ec_public_key_valid
from core.boundary import hold_key

# AES-GCM: a 12-byte IV in front and a 16-byte tag at the end of even an
# empty plaintext (NIST SP 800-38D).
MIN_CIPHERTEXT = 12 + 16
LOOKUP_STATE_KEY = "certificate_copy_lookup"
TOKEN_MAX = 64


class CopyState:
    WAITING = "waiting"  # opened: only the commitment is known
    JOINED = "joined"  # a sender joined with its key; the receiver has not revealed yet
    REVEALED = "revealed"  # both keys known: both screens show the confirmation code
    UPLOADED = "uploaded"  # the person confirmed on the sender: the sealed blob is here
    DOWNLOADED = "downloaded"


def copy_session_digest(session_key: str) -> str:
    return hashlib.sha256(f"certbank-copy:{session_key}".encode()).hexdigest()


def _same_session(digest: str, session_key: str) -> bool:
    # An empty digest (no sender joined yet) matches nobody.
    return bool(digest) and hmac.compare_digest(digest, copy_session_digest(session_key or ""))


def copy_sessions_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete every expired copy session (and so its ciphertext and number),
    and the client counters whose window is over."""
    now = now or timezone.now()
    deleted, _by_model = CopySession.objects.filter(expires_at__lte=now).delete()
    window = datetime.timedelta(seconds=settings.CERTBANK_COPY_CLIENT_WINDOW_SECONDS)
    CopyClientCounter.objects.filter(window_started_at__lte=now - window).delete()
    return deleted


# --- Per-client-network counters -------------------------------------------------------------


def _client_window_start(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(seconds=settings.CERTBANK_COPY_CLIENT_WINDOW_SECONDS)


def _client_count(*, kind: str, client: str, now: datetime.datetime) -> int:
    """Count one event for `client` in its current window (a new window when
    the last one is over) and return the count. Atomic across workers: the
    row is locked (PostgreSQL) or the write transaction is (SQLite, IMMEDIATE)."""
    with transaction.atomic():
        counter = CopyClientCounter.objects.select_for_update().filter(kind=kind, client=client).first()
        if counter is None:
            try:
                with transaction.atomic():
                    CopyClientCounter.objects.create(kind=kind, client=client, window_started_at=now, count=1)
                return 1
            except IntegrityError:  # another worker created it first: count on its row
                counter = CopyClientCounter.objects.select_for_update().get(kind=kind, client=client)
        if counter.window_started_at <= _client_window_start(now):
            counter.window_started_at, counter.count = now, 1
        else:
            counter.count += 1
        counter.save(update_fields=["window_started_at", "count"])
        return counter.count


def _client_at_limit(*, kind: str, client: str, limit: int, now: datetime.datetime) -> bool:
    return CopyClientCounter.objects.filter(
        kind=kind, client=client, window_started_at__gt=_client_window_start(now), count__gte=limit
    ).exists()


# --- Receiver: open --------------------------------------------------------------------------


def copy_session_open(*, bank, session_key: str, receiver_commitment: bytes, client: str | None, request=None) -> CopySession:
    """The receiving device starts a copy: a token, a number and three minutes.
    It sends only a commitment to its public key; the key itself comes later
    (copy_reveal), after a sender has joined. `client` is the caller's
    network (core.clients.client_network); None for callers that are not web requests."""
    if len(receiver_commitment) != COPY_COMMITMENT_BYTES:
        raise CopyRefused(CopyRefusal.BAD_COMMITMENT)
    now = timezone.now()
    if client is not None:
        # SECURITY: sessions cost a row and a number each; a client network opens
        # at most CERTBANK_COPY_CLIENT_MAX_OPENS per window, whatever its cookies.
        opened = _client_count(kind=CopyClientCounter.Kind.OPEN, client=client, now=now)
        if opened > settings.CERTBANK_COPY_CLIENT_MAX_OPENS:
            if opened == settings.CERTBANK_COPY_CLIENT_MAX_OPENS + 1:
                with transaction.atomic():
                    audit_record(action=Action.CERTIFICATE_COPY_OPEN_LIMITED, bank=bank, request=request)
            raise CopyRefused(CopyRefusal.OPEN_THROTTLED)
    copy_sessions_purge(now=now)  # lazily; the management command does it too
    for _attempt in range(10):
        try:
            with transaction.atomic():
                copy = CopySession.objects.create(
                    token=secrets.token_urlsafe(32),
                    number=f"{secrets.randbelow(10**8):08d}",
                    bank=bank,
                    receiver_session_digest=copy_session_digest(session_key),
                    receiver_commitment=bytes(receiver_commitment),
                    created_at=now,
                    expires_at=now + datetime.timedelta(seconds=settings.CERTBANK_COPY_SECONDS),
                )
                audit_record(action=Action.CERTIFICATE_COPY_OPENED, bank=bank, request=request, copy_session=copy.pk)
            return copy
        except IntegrityError:
            continue  # the number (or, astronomically unlikely, the token) is taken: draw again
    raise RuntimeError("no free copy number after 10 draws")


# --- Sender: find ----------------------------------------------------------------------------


def _lookup_throttled(state: MutableMapping, now: datetime.datetime) -> bool:
    until = state.get("until", 0)
    if until and now.timestamp() < until:
        return True
    if until:  # the wait is over: a fresh start
        state.clear()
    return False


def _lookup_failed(state: MutableMapping, now: datetime.datetime, *, bank, client: str | None, request) -> None:
    state["failures"] = state.get("failures", 0) + 1
    if state["failures"] >= settings.CERTBANK_COPY_LOOKUP_MAX_FAILURES:
        state["until"] = now.timestamp() + settings.CERTBANK_COPY_LOOKUP_WAIT_SECONDS
        with transaction.atomic():
            audit_record(action=Action.CERTIFICATE_COPY_LOOKUP_LOCKED, bank=bank, request=request, scope="session")
    if client is not None:
        failures = _client_count(kind=CopyClientCounter.Kind.LOOKUP_FAILURE, client=client, now=now)
        if failures == settings.CERTBANK_COPY_CLIENT_MAX_FAILURES:
            with transaction.atomic():
                audit_record(action=Action.CERTIFICATE_COPY_LOOKUP_LOCKED, bank=bank, request=request, scope="network")


def _refuse_if_unusable(copy: CopySession, now: datetime.datetime) -> None:
    if copy.cancelled_at is not None:
        raise CopyRefused(CopyRefusal.CANCELLED)
    if copy.is_expired(now):
        _expire(copy)
        raise CopyRefused(CopyRefusal.EXPIRED)


def _expire(copy: CopySession) -> None:
    # SECURITY: an expired relay keeps no ciphertext, whoever asks.
    CopySession.objects.filter(pk=copy.pk).exclude(ciphertext=b"").update(ciphertext=b"")


def _by_token(*, bank, token: str) -> CopySession | None:
    if not token or len(token) > TOKEN_MAX:
        return None
    return CopySession.objects.filter(bank=bank, token=token).first()


def copy_session_find(
    *, bank, lookup_state: MutableMapping, client: str | None, number: str = "", token: str = "", request=None
) -> CopySession:
    """The sending device finds the receiver's session by its number (typed)
    or its token (from the QR link), and learns the receiver's commitment.
    `lookup_state` is the caller's per-browser-session throttle record (the
    view passes a dict kept in the Django session); it is updated in place,
    also when the lookup fails. `client` is the caller's network
    (core.clients.client_network), counted in the database so a fresh cookie does not reset it."""
    now = timezone.now()
    # SECURITY: numbers are guessable in principle (10^8, a few live at a time):
    # after CERTBANK_COPY_LOOKUP_MAX_FAILURES wrong ones this browser waits, and
    # after CERTBANK_COPY_CLIENT_MAX_FAILURES in a window its whole network does.
    if _lookup_throttled(lookup_state, now):
        raise CopyRefused(CopyRefusal.THROTTLED)
    with transaction.atomic():
        if client is not None:
            # SECURITY: lookups from one network take turns from the limit check
            # to their counted failure; parallel ones would all pass the check first.
            hold_key(f"copy_lookup:{client}")
            if _client_at_limit(
                kind=CopyClientCounter.Kind.LOOKUP_FAILURE,
                client=client,
                limit=settings.CERTBANK_COPY_CLIENT_MAX_FAILURES,
                now=now,
            ):
                raise CopyRefused(CopyRefusal.NETWORK_THROTTLED)
        if token:
            copy = _by_token(bank=bank, token=token)
        else:
            digits = "".join(ch for ch in number if not ch.isspace() and ch != "-")
            if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
                raise CopyRefused(CopyRefusal.BAD_NUMBER)
            copy = CopySession.objects.filter(bank=bank, number=digits).first()
        if copy is None:
            _lookup_failed(lookup_state, now, bank=bank, client=client, request=request)
    if copy is None:  # refused once the failure is counted and committed
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    _refuse_if_unusable(copy, now)
    if copy.joined_at is not None:
        raise CopyRefused(CopyRefusal.ALREADY_JOINED)
    lookup_state.pop("failures", None)
    return copy


# --- Sender: join, follow, upload ------------------------------------------------------------


def copy_join(*, bank, token: str, session_key: str, sender_public_key: bytes, request=None) -> CopySession:
    """The sender's ECDH public key S, once per session. From here on only this
    browser session may follow the copy (copy_sender_status) and upload."""
    # SECURITY: only a real P-256 point is relayed to the receiver (invalid-curve attacks).
    if not ec_public_key_valid(sender_public_key):
        raise CopyRefused(CopyRefusal.BAD_PUBLIC_KEY)
    copy = _by_token(bank=bank, token=token)
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    now = timezone.now()
    _refuse_if_unusable(copy, now)
    with transaction.atomic():
        # SECURITY: exactly one sender. Of concurrent joins exactly one UPDATE
        # matches `joined_at IS NULL`; a later one cannot replace S (which the
        # receiver may already show a code for) nor take over the session.
        won = CopySession.objects.filter(
            pk=copy.pk, joined_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=now
        ).update(
            sender_public_key=bytes(sender_public_key),
            sender_session_digest=copy_session_digest(session_key),
            joined_at=now,
        )
        if not won:
            raise CopyRefused(CopyRefusal.ALREADY_JOINED)
        audit_record(action=Action.CERTIFICATE_COPY_JOINED, bank=bank, request=request, copy_session=copy.pk)
    copy.refresh_from_db()
    return copy


def _sender_copy(*, bank, token: str, session_key: str) -> CopySession:
    copy = _by_token(bank=bank, token=token)
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    # SECURITY: only the browser session that joined sees the receiver's key
    # and may upload (a session that merely found the number may not).
    if not _same_session(copy.sender_session_digest, session_key):
        raise CopyRefused(CopyRefusal.WRONG_SESSION)
    return copy


def copy_sender_status(*, bank, token: str, session_key: str) -> CopySession:
    """The joined sender's copy, for polling: once revealed it carries the
    receiver's public key (which the sender checks against the commitment
    itself); refused once expired or cancelled."""
    copy = _sender_copy(bank=bank, token=token, session_key=session_key)
    if copy.downloaded_at is None:
        _refuse_if_unusable(copy, timezone.now())
    return copy


def copy_upload(*, bank, token: str, session_key: str, ciphertext: bytes, request=None) -> CopySession:
    """The sealed certificate, once, from the joined sender, after the reveal
    (the sender page seals only when the person has confirmed the codes)."""
    copy = _sender_copy(bank=bank, token=token, session_key=session_key)
    now = timezone.now()
    _refuse_if_unusable(copy, now)
    # SECURITY: nothing is relayed before both codes can be shown: a blob
    # sealed before the reveal could only be for a key nobody compared.
    if copy.revealed_at is None:
        raise CopyRefused(CopyRefusal.NOT_YET_REVEALED)
    # SECURITY: AES-GCM shaped (IV + tag at least) and bounded: the relay is
    # not a free file store.
    if not MIN_CIPHERTEXT <= len(ciphertext) <= settings.CERTBANK_COPY_MAX_CIPHERTEXT:
        raise CopyRefused(CopyRefusal.BAD_CIPHERTEXT)
    with transaction.atomic():
        # SECURITY: one upload only. Of concurrent uploads exactly one UPDATE
        # matches `uploaded_at IS NULL`; a later one cannot replace the blob.
        won = CopySession.objects.filter(
            pk=copy.pk,
            uploaded_at__isnull=True,
            revealed_at__isnull=False,
            cancelled_at__isnull=True,
            expires_at__gt=now,
        ).update(ciphertext=bytes(ciphertext), uploaded_at=now)
        if not won:
            raise CopyRefused(CopyRefusal.ALREADY_SENT)
        audit_record(
            action=Action.CERTIFICATE_COPY_UPLOADED, bank=bank, request=request, copy_session=copy.pk, size=len(ciphertext)
        )
    copy.refresh_from_db()
    return copy


# --- Receiver: follow, reveal, download ------------------------------------------------------


def _receiver_copy(*, bank, token: str, session_key: str) -> CopySession:
    copy = _by_token(bank=bank, token=token)
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    # SECURITY: only the browser session that opened the copy sees its state,
    # reveals its key and receives the ciphertext.
    if not _same_session(copy.receiver_session_digest, session_key):
        raise CopyRefused(CopyRefusal.WRONG_SESSION)
    return copy


def copy_status(*, bank, token: str, session_key: str) -> CopySession:
    """The receiver's copy, for polling: once joined it carries the sender's
    public key; refused once expired or cancelled."""
    copy = _receiver_copy(bank=bank, token=token, session_key=session_key)
    if copy.downloaded_at is None:
        _refuse_if_unusable(copy, timezone.now())
    return copy


def copy_reveal(*, bank, token: str, session_key: str, receiver_public_key: bytes, request=None) -> CopySession:
    """The receiver's public key R, once, after a sender joined: it must be
    the key the session was opened with a commitment to."""
    copy = _receiver_copy(bank=bank, token=token, session_key=session_key)
    now = timezone.now()
    _refuse_if_unusable(copy, now)
    # SECURITY: R only after S is fixed (the receiver's code is then fixed
    # before anyone but the receiver knows R).
    if copy.joined_at is None:
        raise CopyRefused(CopyRefusal.NOT_YET_JOINED)
    if copy.revealed_at is not None:
        raise CopyRefused(CopyRefusal.ALREADY_REVEALED)
    # SECURITY: only a real P-256 point is relayed to the sender (invalid-curve attacks).
    if not ec_public_key_valid(receiver_public_key):
        raise CopyRefused(CopyRefusal.BAD_PUBLIC_KEY)
    # SECURITY: the key must be the committed one. A different key means
    # someone changed what the receiver sent; the session is over (cancelled,
    # in its own transaction so the refusal does not roll it back).
    if not copy_commitment_matches(bytes(copy.receiver_commitment), receiver_public_key):
        with transaction.atomic():
            won = CopySession.objects.filter(pk=copy.pk, cancelled_at__isnull=True, revealed_at__isnull=True).update(
                cancelled_at=now, ciphertext=b""
            )
            if won:
                audit_record(action=Action.CERTIFICATE_COPY_REVEAL_REFUSED, bank=bank, request=request, copy_session=copy.pk)
        raise CopyRefused(CopyRefusal.COMMITMENT_MISMATCH)
    with transaction.atomic():
        # SECURITY: once. The conditional UPDATE also re-checks the order of steps.
        won = CopySession.objects.filter(
            pk=copy.pk, revealed_at__isnull=True, joined_at__isnull=False, cancelled_at__isnull=True, expires_at__gt=now
        ).update(receiver_public_key=bytes(receiver_public_key), revealed_at=now)
        if not won:
            raise CopyRefused(CopyRefusal.ALREADY_REVEALED)
        audit_record(action=Action.CERTIFICATE_COPY_REVEALED, bank=bank, request=request, copy_session=copy.pk)
    copy.refresh_from_db()
    return copy


def copy_state(copy: CopySession) -> str:
    if copy.downloaded_at is not None:
        return CopyState.DOWNLOADED
    if copy.uploaded_at is not None:
        return CopyState.UPLOADED
    if copy.revealed_at is not None:
        return CopyState.REVEALED
    if copy.joined_at is not None:
        return CopyState.JOINED
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


# --- Either side -----------------------------------------------------------------------------


def copy_cancel(*, bank, token: str, session_key: str, request=None) -> None:
    """The receiver, or the joined sender, stops the copy (e.g. the
    confirmation codes differ): nothing is kept, nothing more is relayed."""
    copy = _by_token(bank=bank, token=token)
    if copy is None:
        raise CopyRefused(CopyRefusal.NOT_FOUND)
    # SECURITY: one of the two parties; a browser that only knows the number may not.
    if _same_session(copy.receiver_session_digest, session_key):
        side = "receiver"
    elif _same_session(copy.sender_session_digest, session_key):
        side = "sender"
    else:
        raise CopyRefused(CopyRefusal.WRONG_SESSION)
    with transaction.atomic():
        won = CopySession.objects.filter(pk=copy.pk, cancelled_at__isnull=True, downloaded_at__isnull=True).update(
            cancelled_at=timezone.now(), ciphertext=b""
        )
        if won:
            audit_record(action=Action.CERTIFICATE_COPY_CANCELLED, bank=bank, request=request, copy_session=copy.pk, by=side)
