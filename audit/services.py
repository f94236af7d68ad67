"""Writing, sealing and verifying the audit log (audit.models explains the design).

audit_record, inside the transaction of the change, appends row n's content
with a random nonce and its own digest

    row_digest = HMAC-SHA256(CERTBANK_INDEX_KEY, "audit-row-v1" 0x00 canonical(content, nonce))

and takes no lock. After commit, audit_seal chains committed rows in its
own short transaction:

    hash_n = HMAC-SHA256(CERTBANK_INDEX_KEY, "audit-chain-v1" 0x00 canonical(row_n))

where canonical(row_n) is sorted-key, space-free UTF-8 JSON of the row's
sequence, created_at (ISO 8601 UTC with microseconds), action, bank_id,
customer_id, actor_id, ip_address, detail, prev_hash = hash_(n-1) and, on
rows that have one, nonce (rows from before sealing have none and keep
their hashes). The key is kept outside the database
(core.crypto.keyed_digest), so a database-only attacker who edits a row
cannot recompute the chain after it, nor forge a row the sealer accepts.
"""

import datetime
import enum
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import GENESIS_HASH, Action, AuditChainHead, AuditEvent
from core.crypto import digests_match, keyed_digest

CHAIN_PURPOSE = "audit-chain-v1"
ROW_PURPOSE = "audit-row-v1"
SEAL_BATCH = 500

logger = logging.getLogger("certbank.audit")

# A row's content: what its own digest covers (with the nonce), as `values()` names them.
CONTENT_FIELDS = ("created_at", "action", "bank_id", "customer_id", "actor_id", "ip_address", "detail")
# The columns that go into a row's chain hash (with the nonce, where the row has one).
CHAINED_FIELDS = (
    "sequence",
    "created_at",
    "action",
    "bank_id",
    "customer_id",
    "actor_id",
    "ip_address",
    "detail",
    "prev_hash",
)


class ChainBreak(enum.StrEnum):
    """Why the verifier stopped at the first broken link."""

    GAP = "gap"
    LINK = "link"
    CONTENT = "content"
    HEAD_MISSING = "head_missing"
    TRUNCATED = "truncated"
    HEAD_MISMATCH = "head_mismatch"
    UNSEALED_CONTENT = "unsealed_content"


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_event_digest(*, sequence: int, prev_hash: str, nonce: str | None = None, **content: Any) -> str:
    """The keyed chain digest of one row (the module docstring): its content
    (CONTENT_FIELDS), sequence, prev_hash and, where it has one, nonce."""
    payload = {**_content_payload(**content), "sequence": sequence, "prev_hash": prev_hash}
    if nonce:
        payload["nonce"] = nonce
    return keyed_digest(_canonical(payload), purpose=CHAIN_PURPOSE)


def audit_row_digest(*, nonce: str, **content: Any) -> str:
    """The keyed digest of one row's own content and nonce, before it has a place in the chain."""
    return keyed_digest(_canonical({**_content_payload(**content), "nonce": nonce}), purpose=ROW_PURPOSE)


def _content_payload(
    *,
    created_at: datetime.datetime,
    action: str,
    bank_id: int | None,
    customer_id: int | None,
    actor_id: int | None,
    ip_address: str | None,
    detail: Any,
) -> dict:
    return {
        "created_at": created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "action": str(action),
        "bank_id": bank_id,
        "customer_id": customer_id,
        "actor_id": actor_id,
        "ip_address": ip_address,
        "detail": detail,
    }


def _canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def audit_event(
    *,
    action: Action,
    customer=None,
    bank=None,
    actor=None,
    request=None,
    **detail: Any,
) -> AuditEvent:
    """An unsealed row as audit_record writes it, not written yet: for
    audit_append, which writes several in one INSERT."""
    if customer is not None and not getattr(customer, "pk", None):
        customer = None
    # Digest what the database will give back: JSON-normalised detail (tuples
    # become lists, keys strings) and the IP address as the field stores it.
    detail = json.loads(json.dumps(detail))
    ip_address = AuditEvent._meta.get_field("ip_address").get_prep_value(client_ip(request))
    event = AuditEvent(
        created_at=timezone.now(),
        action=action,
        customer=customer,
        bank=bank,
        actor=actor,
        ip_address=ip_address,
        detail=detail,
        nonce=secrets.token_hex(16),
    )
    event.row_digest = audit_row_digest(**{name: getattr(event, name) for name in (*CONTENT_FIELDS, "nonce")})
    return event


def audit_append(events: list[AuditEvent]) -> None:
    """Write rows made by audit_event, in this order, in the caller's
    transaction (no lock, one INSERT); audit_seal chains them after it commits."""
    if events:
        AuditEvent.objects.bulk_create(events)
        _seal_after_commit()


def audit_record(
    *,
    action: Action,
    customer=None,
    bank=None,
    actor=None,
    request=None,
    **detail: Any,
) -> AuditEvent:
    """Append an unsealed row in the caller's transaction (no lock, one INSERT);
    it is chained by audit_seal after that transaction commits."""
    event = audit_event(action=action, customer=customer, bank=bank, actor=actor, request=request, **detail)
    event.save()
    _seal_after_commit()
    return event


def _seal_after_commit() -> None:
    """audit_seal once the current transaction commits (at once without one),
    registered once however many rows the transaction appends. A callback
    still in the list has survived every rollback so far, and only a
    rollback that would take this row too can remove it now."""
    if any(callback is _seal_committed for _savepoints, callback, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_seal_committed, robust=True)


def _seal_committed() -> None:
    # robust: the change and its audit row are committed; a failed seal leaves
    # the row for the next sealer (the next audited change, or the cron job).
    audit_seal(waiting=True)


def audit_seal(*, batch: int = SEAL_BATCH, waiting: bool = False) -> int:
    """Chain every committed unsealed row; the number sealed.

    Passes repeat while rows are waiting. A pass gives up at once when
    another sealer holds the chain head: that sealer makes one more pass
    after it commits, and so sees every row committed while it held the
    head (this one's included). Rows whose own digest fails are left
    unsealed and logged; verify_audit_log reports them. `waiting`: the
    caller has just committed rows, so the first pass does not ask.
    """
    sealed = 0
    while waiting or AuditEvent.objects.filter(sequence__isnull=True).exists():
        waiting = False
        done = _seal_pass(batch)
        if not done:  # another sealer has the head, or only refused rows wait
            break
        sealed += done
    return sealed


def _seal_pass(batch: int) -> int:
    with transaction.atomic():
        head = _chain_head_for_sealing()
        if head is None:
            return 0
        sequence, prev_hash, updates = head.sequence, head.hash, []
        for row in _unsealed_rows()[:batch]:
            if not _row_intact(row):
                logger.error("audit row id %s not sealed: its own digest does not match its content", row["id"])
                continue
            sequence += 1
            digest = audit_event_digest(
                sequence=sequence, prev_hash=prev_hash, **{name: row[name] for name in (*CONTENT_FIELDS, "nonce")}
            )
            updates.append((sequence, prev_hash, digest, row["id"]))
            prev_hash = digest
        if not updates:
            return 0
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        with connection.cursor() as cursor:
            # The one place rows change: their place in the chain, once (sequence IS NULL).
            cursor.executemany(
                f"UPDATE {table} SET sequence = %s, prev_hash = %s, hash = %s WHERE id = %s AND sequence IS NULL",  # noqa: S608
                updates,
            )
        moved = AuditChainHead.objects.filter(pk=1, sequence=head.sequence, hash=head.hash).update(
            sequence=sequence, hash=prev_hash
        )
        if moved != 1:
            raise RuntimeError("the audit chain head moved under its lock")
    return len(updates)


def _unsealed_rows():
    return AuditEvent.objects.filter(sequence__isnull=True).order_by("id").values("id", *CONTENT_FIELDS, "nonce", "row_digest")


def _row_intact(row: dict) -> bool:
    """Whether an unsealed row is as audit_record wrote it (its own digest)."""
    if not row["nonce"]:
        return False
    digest = audit_row_digest(**{name: row[name] for name in (*CONTENT_FIELDS, "nonce")})
    return digests_match(row["row_digest"], digest)


def _chain_head_for_sealing() -> AuditChainHead | None:
    """The head row, locked until this transaction ends, or None when
    another sealer holds it (PostgreSQL; SQLite serializes writers).

    Created on first use (a flushed test database has none; the migration
    makes it in a real one). Two first sealers racing to create it collide
    on the primary key inside a savepoint; the loser skips this pass.
    """
    head = AuditChainHead.objects.select_for_update(skip_locked=True).filter(pk=1).first()
    if head is not None:
        return head
    if AuditChainHead.objects.filter(pk=1).exists():
        return None  # locked by another sealer
    last = AuditEvent.objects.exclude(sequence__isnull=True).order_by("-sequence").values("sequence", "hash").first()
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=1, **(last or {"sequence": 0, "hash": GENESIS_HASH}))
    except IntegrityError:
        return None
    return AuditChainHead.objects.select_for_update(skip_locked=True).filter(pk=1).first()


def _break(row: dict | None, *, sequence: int, reason: str, message: str) -> dict:
    return {"sequence": sequence, "id": row["id"] if row else None, "reason": reason, "message": message}


@dataclass(frozen=True)
class UnsealedTail:
    """The rows appended but not chained yet: how many, and since when."""

    count: int
    oldest: datetime.datetime | None

    def age_seconds(self, now: datetime.datetime | None = None) -> float:
        return 0.0 if self.oldest is None else ((now or timezone.now()) - self.oldest).total_seconds()


def audit_unsealed_tail() -> UnsealedTail:
    rows = AuditEvent.objects.filter(sequence__isnull=True)
    oldest = rows.order_by("id").values_list("created_at", flat=True).first()
    return UnsealedTail(count=rows.count(), oldest=oldest)


def audit_chain_verify() -> tuple[bool, int, dict | None]:
    """Walk the sealed chain in sequence order, then the unsealed rows:
    (ok, sealed rows checked, first break or None).

    The break is {"sequence", "id", "reason" (a ChainBreak value), "message"}.
    Checks sequence continuity (deleted rows), prev_hash linkage (reordered
    or replaced rows), each row's own digest (edited rows), against the
    head row that nothing was cut off the end, and each unsealed row's own
    digest (a row edited or forged before it was sealed). How long rows wait
    unsealed is audit_unsealed_tail's to report.
    """
    # The head first: rows sealed after this read only extend the chain.
    head = AuditChainHead.objects.filter(pk=1).values("sequence", "hash").first()
    expected, prev_hash, checked = 1, GENESIS_HASH, 0
    rows = AuditEvent.objects.filter(sequence__isnull=False).order_by("sequence").values("id", *CHAINED_FIELDS, "nonce", "hash")
    for row in rows.iterator(chunk_size=2000):
        sequence = row["sequence"]
        if head is not None and sequence > head["sequence"]:
            break  # sealed after the head was read
        if sequence != expected:
            message = _("순번 %(missing)s번 기록이 없습니다(삭제된 기록).") % {"missing": expected}
            return False, checked, _break(row, sequence=sequence, reason=ChainBreak.GAP, message=message)
        if not digests_match(row["prev_hash"], prev_hash):
            message = _("이전 해시가 앞 기록(순번 %(previous)s)의 해시와 다릅니다.") % {"previous": sequence - 1}
            return False, checked, _break(row, sequence=sequence, reason=ChainBreak.LINK, message=message)
        digest = audit_event_digest(**{name: row[name] for name in (*CHAINED_FIELDS, "nonce")})
        if not digests_match(row["hash"], digest):
            message = _("기록 내용이 저장된 해시와 맞지 않습니다(변조된 기록).")
            return False, checked, _break(row, sequence=sequence, reason=ChainBreak.CONTENT, message=message)
        if head is not None and sequence == head["sequence"] and not digests_match(row["hash"], head["hash"]):
            message = _("체인 끝에 기록된 해시와 다릅니다.")
            return False, checked, _break(row, sequence=sequence, reason=ChainBreak.HEAD_MISMATCH, message=message)
        prev_hash, expected, checked = row["hash"], expected + 1, checked + 1
    if head is None and checked:
        message = _("체인 끝 기록이 없습니다.")
        return False, checked, _break(None, sequence=checked, reason=ChainBreak.HEAD_MISSING, message=message)
    if head is not None and head["sequence"] > checked:
        message = _("마지막 기록(순번 %(last)s)까지 있어야 하는데 순번 %(checked)s에서 끝납니다.") % {
            "last": head["sequence"],
            "checked": checked,
        }
        return False, checked, _break(None, sequence=checked + 1, reason=ChainBreak.TRUNCATED, message=message)
    for row in _unsealed_rows().iterator(chunk_size=2000):
        if not _row_intact(row):
            message = _("봉인 전 기록의 내용이 저장된 해시와 맞지 않습니다(변조되거나 위조된 기록).")
            return False, checked, _break(row, sequence=checked + 1, reason=ChainBreak.UNSEALED_CONTENT, message=message)
    return True, checked, None
