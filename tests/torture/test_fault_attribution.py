"""The torture run attributes each 500 to the fault that caused it (tools/torture/server.py)."""

from tools.torture.server import fault_kind_of


def test_a_lock_timeout_followed_by_psycopgs_pipeline_cleanup_is_a_lock_timeout():
    # The 500 of the 95-minute run (seed 4242) that was misread as pg_terminate_backend.
    logged = (
        "django.db.utils.OperationalError: canceling statement due to lock timeout\n"
        'CONTEXT:  while locking tuple (102,49) in relation "banking_depositaccount"\n'
        "error ignored terminating <psycopg.Pipeline [BAD] at 0x7fc95eb56510>: the connection is lost\n"
    )
    assert fault_kind_of(logged) == "lock_timeout"


def test_each_fault_is_still_recognised_on_its_own():
    assert fault_kind_of("canceling statement due to statement timeout") == "statement_timeout"
    assert fault_kind_of("FATAL: terminating connection due to administrator command") == "pg_terminate_backend"
    assert fault_kind_of("the connection is lost") == "pg_terminate_backend"
    assert fault_kind_of("ZeroDivisionError: division by zero") is None
