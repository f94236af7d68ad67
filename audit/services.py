"""Writing and verifying the audit log. Call audit_record inside the transaction of the change.

The log is a hash chain. Row n stores

    hash_n = HMAC-SHA256(CERTBANK_INDEX_KEY, "audit-chain-v1" 0x00 canonical(row_n))

where canonical(row_n) is sorted-key, space-free UTF-8 JSON of the row's
sequence, created_at (ISO 8601 UTC with microseconds), action, bank_id,
customer_id, actor_id, ip_address, detail and prev_hash = hash_(n-1).
The key is kept outside the database (core.crypto.keyed_digest), so a
database-only attacker who edits a row cannot recompute the chain after it.
"""

import datetime
import enum
import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import GENESIS_HASH, Action, AuditChainHead, AuditEvent
from core.crypto import digests_match, keyed_digest

CHAIN_PURPOSE = "audit-chain-v1"

# The columns that go into a row's hash, as `values()` names them.
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


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_event_digest(
    *,
    sequence: int,
    created_at: datetime.datetime,
    action: str,
    bank_id: int | None,
    customer_id: int | None,
    actor_id: int | None,
    ip_address: str | None,
    detail: Any,
    prev_hash: str,
) -> str:
    """The keyed digest of one row's canonical content (the module docstring)."""
    payload = {
        "sequence": sequence,
        "created_at": created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "action": str(action),
        "bank_id": bank_id,
        "customer_id": customer_id,
        "actor_id": actor_id,
        "ip_address": ip_address,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return keyed_digest(canonical, purpose=CHAIN_PURPOSE)


def _chain_head_locked() -> AuditChainHead:
    """The head row, locked until the surrounding transaction ends.

    Created on first use (a flushed test database has none; the migration
    makes it in a real one). Two first writers racing to create it collide
    on the primary key; get_or_create then reads the winner's row, locked.
    """
    try:
        return AuditChainHead.objects.select_for_update().get(pk=1)
    except AuditChainHead.DoesNotExist:
        last = AuditEvent.objects.order_by("-sequence").values("sequence", "hash").first()
        defaults = last or {"sequence": 0, "hash": GENESIS_HASH}
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults=defaults)
        return head


def audit_record(
    *,
    action: Action,
    customer=None,
    bank=None,
    actor=None,
    request=None,
    **detail: Any,
) -> AuditEvent:
    if customer is not None and not getattr(customer, "pk", None):
        customer = None
    # Hash what the database will give back: JSON-normalised detail (tuples
    # become lists, keys strings) and the IP address as the field stores it.
    detail = json.loads(json.dumps(detail))
    ip_address = AuditEvent._meta.get_field("ip_address").get_prep_value(client_ip(request))
    # A savepoint when the caller has a transaction (the usual case), its
    # own transaction otherwise. The head lock serializes audit writers until
    # the outermost transaction commits.
    with transaction.atomic():
        head = _chain_head_locked()
        event = AuditEvent(
            sequence=head.sequence + 1,
            created_at=timezone.now(),
            action=action,
            customer=customer,
            bank=bank,
            actor=actor,
            ip_address=ip_address,
            detail=detail,
            prev_hash=head.hash,
        )
        event.hash = audit_event_digest(**{name: getattr(event, name) for name in CHAINED_FIELDS})
        event.save()
        head.sequence, head.hash = event.sequence, event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


def _break(row: dict | None, *, sequence: int, reason: str, message: str) -> dict:
    return {"sequence": sequence, "id": row["id"] if row else None, "reason": reason, "message": message}


def audit_chain_verify() -> tuple[bool, int, dict | None]:
    """Walk the chain in sequence order: (ok, rows checked, first break or None).

    The break is {"sequence", "id", "reason" (a ChainBreak value), "message"}.
    Checks sequence continuity (deleted rows), prev_hash linkage (reordered
    or replaced rows), each row's own digest (edited rows) and, against the
    head row, that nothing was cut off the end.
    """
    # The head first: rows committed after this read only extend the chain.
    head = AuditChainHead.objects.filter(pk=1).values("sequence", "hash").first()
    expected, prev_hash, checked = 1, GENESIS_HASH, 0
    rows = AuditEvent.objects.order_by("sequence").values("id", *CHAINED_FIELDS, "hash")
    for row in rows.iterator(chunk_size=2000):
        sequence = row["sequence"]
        if sequence != expected:
            message = _("순번 %(missing)s번 기록이 없습니다(삭제된 기록).") % {"missing": expected}
            return False, checked, _break(row, sequence=sequence, reason=ChainBreak.GAP, message=message)
        if not digests_match(row["prev_hash"], prev_hash):
            message = _("이전 해시가 앞 기록(순번 %(previous)s)의 해시와 다릅니다.") % {"previous": sequence - 1}
            return False, checked, _break(row, sequence=sequence, reason=ChainBreak.LINK, message=message)
        digest = audit_event_digest(**{name: row[name] for name in CHAINED_FIELDS})
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
    return True, checked, None
