"""The audit log is append-only and hash-chained; rows are sealed into the
chain after their transaction commits, with no lock while it is open;
verify_audit_log finds the first broken link and rows edited or forged
before they were sealed."""

import hashlib
import importlib
import io
import json
import threading

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, Action, AppendOnlyViolation, AuditChainHead, AuditEvent
from audit.services import (
    CHAINED_FIELDS,
    CONTENT_FIELDS,
    ChainBreak,
    audit_append,
    audit_chain_verify,
    audit_event,
    audit_event_digest,
    audit_record,
    audit_row_digest,
    audit_seal,
    audit_unsealed_tail,
)

pytestmark = pytest.mark.django_db

TABLE = connection.ops.quote_name(AuditEvent._meta.db_table)


class FakeRequest:
    def __init__(self, ip):
        self.META = {"REMOTE_ADDR": ip}


def record_several(count=5):
    """`count` rows, sealed (as after their commits), as the database has them now."""
    events = [audit_record(action=Action.LOGIN_FAILED, request=FakeRequest("10.0.0.1"), attempt=n) for n in range(count)]
    audit_seal()
    return [sealed(event) for event in events]


def sealed(event):
    return AuditEvent.objects.get(pk=event.pk)


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_command_error():
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit_log")
    return str(excinfo.value)


# --- Building the chain -----------------------------------------------------------------------------


def test_each_audit_row_carries_the_hash_of_the_one_before():
    events = record_several(5)
    rows = list(AuditEvent.objects.order_by("sequence"))
    assert [row.sequence for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    assert AuditChainHead.objects.get().sequence == events[-1].sequence
    assert AuditChainHead.objects.get().hash == events[-1].hash


def test_audit_record_keeps_its_signature_and_returns_the_saved_row(customer, nuri):
    event = audit_record(action=Action.LOGOUT, customer=customer, bank=nuri, actor=None, request=None, reason="button")
    assert event.pk and event.customer == customer and event.bank == nuri
    assert event.detail == {"reason": "button"}
    # Appended unsealed, with its own digest; sealed after commit.
    assert event.sequence is None and event.hash == "" and len(event.row_digest) == 64 and len(event.nonce) == 32
    audit_seal()
    event = sealed(event)
    assert event.sequence is not None and len(event.hash) == 64 and event.hash != event.prev_hash


def test_the_hash_is_keyed_and_not_a_plain_sha256_of_the_content():
    event = record_several(1)[0]
    fields = {name: getattr(event, name) for name in CHAINED_FIELDS}
    assert audit_event_digest(**fields, nonce=event.nonce) == event.hash
    assert audit_event_digest(**fields) != event.hash  # the nonce is in the chain hash
    canonical = json.dumps(
        {**fields, "created_at": event.created_at.isoformat(timespec="microseconds"), "action": str(event.action)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() != event.hash


def test_a_sound_chain_verifies():
    record_several(5)
    ok, checked, first_break = audit_chain_verify()
    assert (ok, first_break) == (True, None)
    assert checked == AuditEvent.objects.count()


def test_verify_command_reports_a_sound_chain():
    record_several(3)
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert f"감사 기록 {AuditEvent.objects.count()}건 검증 완료: 이상 없음" in out.getvalue()


def test_an_empty_log_verifies():
    ok, checked, first_break = audit_chain_verify()
    assert (ok, checked, first_break) == (True, 0, None)


def test_values_survive_the_database_round_trip_unchanged_in_the_hash():
    # IPv6 is stored normalised, tuples come back as lists, Korean stays UTF-8.
    audit_record(action=Action.LOGOUT, request=FakeRequest("2001:DB8:0:0:0:0:0:1"), items=("a", "b"), 이름="홍길동", n=1.5)
    assert audit_seal() == 1  # its own digest matched what the database gave back
    event = AuditEvent.objects.get(action=Action.LOGOUT)
    assert event.ip_address == "2001:db8::1"
    assert audit_chain_verify() == (True, 1, None)


def test_the_migration_digest_matches_the_service_digest_of_rows_without_a_nonce():
    # Rows chained before sealing moved after commit have no nonce: their hashes stay valid.
    migration = importlib.import_module("audit.migrations.0004_hash_chain")
    audit_record(action=Action.LOGOUT, request=FakeRequest("10.1.2.3"), items=["x"], 이름="홍길동")
    audit_seal()
    event = AuditEvent.objects.get(action=Action.LOGOUT)
    fields = {name: getattr(event, name) for name in CHAINED_FIELDS}
    assert migration.event_digest(**fields) == audit_event_digest(**fields) == audit_event_digest(**fields, nonce=None)
    assert migration.GENESIS_HASH == GENESIS_HASH


# --- Tampering is detected ---------------------------------------------------------------------------


def test_a_row_edited_with_raw_sql_is_detected_at_that_row():
    events = record_several(5)
    target = events[2]
    raw(f"UPDATE {TABLE} SET detail = %s WHERE id = %s", [json.dumps({"attempt": 99}), target.pk])

    ok, checked, first_break = audit_chain_verify()
    assert not ok
    assert first_break["sequence"] == target.sequence
    assert first_break["id"] == target.pk
    assert first_break["reason"] == ChainBreak.CONTENT
    assert checked == target.sequence - 1
    message = verify_command_error()
    assert message.startswith(f"첫 번째 끊어진 연결: 순번 {target.sequence} (id {target.pk}):")


def test_the_verify_command_exits_non_zero_on_a_break(capsys):
    events = record_several(3)
    raw(f"UPDATE {TABLE} SET action = %s WHERE id = %s", ["logout", events[1].pk])
    with pytest.raises(SystemExit) as excinfo:
        execute_from_command_line(["manage.py", "verify_audit_log"])
    assert excinfo.value.code != 0
    assert f"순번 {events[1].sequence} " in capsys.readouterr().err


def test_a_deleted_middle_row_is_detected_as_a_gap():
    events = record_several(5)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])

    ok, _checked, first_break = audit_chain_verify()
    assert not ok
    assert first_break["reason"] == ChainBreak.GAP
    assert first_break["sequence"] == events[3].sequence
    assert str(events[2].sequence) in first_break["message"]
    assert f"순번 {events[3].sequence} (id {events[3].pk})" in verify_command_error()


def test_a_row_rehashed_to_match_its_edit_breaks_the_next_link():
    events = record_several(5)
    target = events[1]
    row = AuditEvent.objects.values(*CHAINED_FIELDS, "nonce").get(pk=target.pk)
    row["detail"] = {"attempt": 42}
    raw(
        f"UPDATE {TABLE} SET detail = %s, hash = %s WHERE id = %s",
        [json.dumps(row["detail"]), audit_event_digest(**row), target.pk],
    )

    ok, _checked, first_break = audit_chain_verify()
    assert not ok
    assert first_break["reason"] == ChainBreak.LINK
    assert first_break["sequence"] == events[2].sequence
    assert f"순번 {events[2].sequence} (id {events[2].pk})" in verify_command_error()


def test_the_last_row_rehashed_to_match_its_edit_disagrees_with_the_chain_head():
    events = record_several(3)
    target = events[-1]
    row = AuditEvent.objects.values(*CHAINED_FIELDS, "nonce").get(pk=target.pk)
    row["action"] = "logout"
    raw(f"UPDATE {TABLE} SET action = %s, hash = %s WHERE id = %s", [row["action"], audit_event_digest(**row), target.pk])

    ok, _checked, first_break = audit_chain_verify()
    assert not ok
    assert (first_break["reason"], first_break["sequence"]) == (ChainBreak.HEAD_MISMATCH, target.sequence)


def test_rows_cut_off_the_end_are_detected():
    events = record_several(4)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [events[-1].pk])

    ok, _checked, first_break = audit_chain_verify()
    assert not ok
    assert (first_break["reason"], first_break["sequence"], first_break["id"]) == (
        ChainBreak.TRUNCATED,
        events[-1].sequence,
        None,
    )
    assert f"순번 {events[-1].sequence} (id 없음)" in verify_command_error()


# --- Append-only through the ORM ---------------------------------------------------------------------


def test_the_orm_refuses_to_update_or_delete_audit_rows():
    event = record_several(1)[0]
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.filter(pk=event.pk).update(detail={})
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.all().delete()
    event.detail = {"attempt": 7}
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        AuditEvent._base_manager.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == {"attempt": 0}
    assert audit_chain_verify()[0]


def test_rows_cannot_be_added_around_audit_record():
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.create(action=Action.LOGOUT)
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.bulk_create([AuditEvent(action=Action.LOGOUT)])


def test_a_rolled_back_change_takes_its_audit_row_and_chain_step_with_it():
    record_several(2)
    head_before = AuditChainHead.objects.values("sequence", "hash").get()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action=Action.LOGOUT)
        raise RuntimeError("the change failed")
    assert audit_seal() == 0
    assert AuditChainHead.objects.values("sequence", "hash").get() == head_before
    event = audit_record(action=Action.LOGOUT)
    audit_seal()
    assert sealed(event).sequence == head_before["sequence"] + 1
    assert audit_chain_verify()[0]


# --- Concurrent writers ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("head_exists", [True, False], ids=["head-row", "no-head-row-yet"])
def test_concurrent_writers_build_one_gap_free_chain(head_exists):
    if not head_exists:
        # As after a flush: the first writers race to create the head row.
        AuditChainHead.objects.all().delete()
    before = AuditEvent.objects.count()
    threads_count, per_thread = 4, 10
    barrier = threading.Barrier(threads_count)
    errors = []

    def write(worker):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            for n in range(per_thread):
                with transaction.atomic():
                    audit_record(action=Action.LOGIN_FAILED, worker=worker, n=n)
        except Exception as exc:  # reported below, with the thread's traceback lost otherwise
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # Every row was sealed by the writers' own after-commit seals: none waits.
    assert audit_unsealed_tail().count == 0
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(sequences) == before + threads_count * per_thread
    assert sequences == list(range(1, len(sequences) + 1))
    ok, checked, first_break = audit_chain_verify()
    assert (ok, checked, first_break) == (True, len(sequences), None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's IMMEDIATE transactions serialize every writer")
def test_an_open_transaction_with_an_audit_row_holds_up_no_other_writer():
    """No lock in the request path: while one transaction with an audit row
    stays open, another appends, commits and is sealed; the first row is
    sealed after it when it commits (sealing order, not id order)."""
    opened, release = threading.Event(), threading.Event()
    errors = []

    def slow_change():
        from django.db import connection as thread_connection

        try:
            with transaction.atomic():
                audit_record(action=Action.LOGIN_FAILED, who="slow")
                opened.set()
                assert release.wait(60)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            opened.set()
            thread_connection.close()

    slow = threading.Thread(target=slow_change)
    slow.start()
    assert opened.wait(60)
    try:
        with transaction.atomic():
            # Were any lock taken by the open transaction, this would fail rather than wait.
            raw("SET LOCAL lock_timeout = '2s'", [])
            fast = audit_record(action=Action.LOGIN_FAILED, who="fast")
        # Committed and sealed while the slow row is still uncommitted.
        assert sealed(fast).sequence == 1
    finally:
        release.set()
        slow.join()
    assert errors == []
    slow_row = AuditEvent.objects.get(detail__who="slow")
    assert slow_row.pk < fast.pk
    assert slow_row.sequence == 2 and audit_unsealed_tail().count == 0
    assert audit_chain_verify() == (True, 2, None)


# --- Rows before they are sealed -----------------------------------------------------------------------


def test_a_row_edited_before_it_is_sealed_is_never_sealed_and_is_reported(caplog):
    events = record_several(2)
    target = audit_record(action=Action.LOGIN_FAILED, attempt=1)
    raw(f"UPDATE {TABLE} SET detail = %s WHERE id = %s", [json.dumps({"attempt": 99}), target.pk])

    assert audit_seal() == 0
    assert f"audit row id {target.pk} not sealed" in caplog.text
    assert sealed(target).sequence is None
    ok, checked, first_break = audit_chain_verify()
    assert not ok and checked == len(events)
    assert (first_break["reason"], first_break["id"]) == (ChainBreak.UNSEALED_CONTENT, target.pk)
    assert f"(id {target.pk}): 봉인 전 기록의 내용이" in verify_command_error()
    # Later rows are still sealed: a forged row cannot stop the chain.
    later = audit_record(action=Action.LOGOUT)
    assert audit_seal() == 1 and sealed(later).sequence == len(events) + 1


def test_a_row_forged_with_raw_sql_is_never_sealed():
    record_several(1)
    forged = AuditEvent(
        created_at=timezone.now(),
        action=Action.LOGIN_SUCCEEDED,
        detail={"forged": True},
        nonce="f" * 32,
        row_digest="0" * 64,  # without the key, no digest the sealer accepts
    )
    models.Model.save(forged)  # what an INSERT past audit_record does
    assert audit_seal() == 0
    ok, _checked, first_break = audit_chain_verify()
    assert not ok and (first_break["reason"], first_break["id"]) == (ChainBreak.UNSEALED_CONTENT, forged.pk)


def test_a_copy_of_a_row_is_refused_by_its_nonce():
    original = record_several(1)[0]
    copy = AuditEvent(
        created_at=original.created_at,
        action=original.action,
        detail=original.detail,
        ip_address=original.ip_address,
        nonce=original.nonce,
        row_digest=original.row_digest,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        models.Model.save(copy)
    fields = {name: getattr(original, name) for name in (*CONTENT_FIELDS, "nonce")}
    assert audit_row_digest(**fields) == original.row_digest


def test_rows_cannot_be_added_already_sealed():
    with pytest.raises(AppendOnlyViolation):
        AuditEvent(action=Action.LOGOUT, sequence=1, prev_hash=GENESIS_HASH, hash="a" * 64).save()


def test_the_unsealed_tail_and_its_age_are_reported(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    record_several(2)
    audit_record(action=Action.LOGOUT)
    tail = audit_unsealed_tail()
    assert tail.count == 1 and tail.age_seconds() == 0
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "감사 기록 2건 검증 완료: 이상 없음" in out.getvalue() and "봉인 대기 1건" in out.getvalue()
    time_machine.shift(301)
    message = verify_command_error()
    assert message.startswith("봉인 대기 기록 1건 중 가장 오래된 것이 301초 전 기록입니다")
    call_command("seal_audit_log", stdout=io.StringIO())
    assert audit_unsealed_tail().count == 0
    call_command("verify_audit_log", stdout=io.StringIO())


def test_rows_appended_together_are_sealed_in_their_order_and_verify():
    events = [audit_event(action=Action.LOGOUT, attempt=n) for n in range(3)]
    with transaction.atomic():
        audit_append(events)
    audit_seal()
    sealed = list(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("sequence"))
    assert [e.detail["attempt"] for e in sealed] == [0, 1, 2]
    assert all(e.sequence is not None for e in sealed)
    assert audit_chain_verify()[0]
    # Made otherwise (sealed-looking, or without its own digest), a row is refused in a batch too.
    forged = audit_event(action=Action.LOGOUT)
    forged.sequence = 999
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.bulk_create([audit_event(action=Action.LOGOUT), forged])
    assert not AuditEvent.objects.filter(sequence=999).exists()
