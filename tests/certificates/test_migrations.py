"""The one-live-certificate constraint arrives on databases the old code
wrote: migration 0009 first revokes, as superseded, every live certificate
but the newest of each holder and bank (and of each person for 금융인증서)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("certificates", "0008_bank_in_core")]
AFTER = [("certificates", "0009_one_live_certificate")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_two_live_certificates_left_by_the_old_reissue_become_one(customer):
    apps = migrate(BEFORE)
    try:
        Certificate = apps.get_model("certificates", "Certificate")
        now = timezone.now()

        def certificate(serial, status, age_days, kind="joint"):
            return Certificate.objects.create(
                serial=serial,
                kind=kind,
                holder_id=customer.pk,
                person_index=customer.rrn_index,
                issuing_bank_id=customer.bank_id,
                subject=f"CN=test-{serial}",
                der=b"\x30\x00",
                fingerprint=serial * 4,
                not_before=now - datetime.timedelta(days=age_days),
                not_after=now + datetime.timedelta(days=365 - age_days),
                status=status,
                created_at=now - datetime.timedelta(days=age_days),
            )

        suspended_old = certificate("a1", "suspended", 30)  # the lost key, never revoked by the reissue
        valid_new = certificate("a2", "valid", 1)
        financial_old = certificate("b1", "valid", 20, kind="financial")
        financial_new = certificate("b2", "valid", 2, kind="financial")
        apps = migrate(AFTER)
        Certificate = apps.get_model("certificates", "Certificate")
        status = dict(Certificate.objects.values_list("serial", "status"))
        assert status == {"a1": "revoked", "a2": "valid", "b1": "revoked", "b2": "valid"}
        lost = Certificate.objects.get(pk=suspended_old.pk)
        assert lost.revocation_reason == "superseded" and lost.revoked_at is not None
        assert valid_new.pk and financial_old.pk and financial_new.pk
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
