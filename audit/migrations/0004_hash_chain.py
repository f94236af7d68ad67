"""Chain the audit log: sequence, prev_hash and hash on every row, and a head row.

Existing rows are chained in id order by the data step below. Its digest is a
frozen copy of audit.services.audit_event_digest as of this migration
(tests/audit/test_chain.py checks that the two agree); the unique, non-null
sequence follows in 0005, in its own transaction.
"""

import datetime
import json

from django.db import migrations, models

GENESIS_HASH = "0" * 64
CHAIN_PURPOSE = "audit-chain-v1"


def event_digest(*, sequence, created_at, action, bank_id, customer_id, actor_id, ip_address, detail, prev_hash):
    from core.crypto import keyed_digest  # accounts.crypto before the core app existed

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


def chain_existing_rows(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    db = schema_editor.connection.alias
    fields = ["id", "created_at", "action", "bank_id", "customer_id", "actor_id", "ip_address", "detail"]
    rows = list(AuditEvent.objects.using(db).order_by("id").values(*fields))
    prev_hash = GENESIS_HASH
    for sequence, row in enumerate(rows, start=1):
        pk = row.pop("id")
        digest = event_digest(sequence=sequence, prev_hash=prev_hash, **row)
        AuditEvent.objects.using(db).filter(pk=pk).update(sequence=sequence, prev_hash=prev_hash, hash=digest)
        prev_hash = digest
    AuditChainHead.objects.using(db).update_or_create(pk=1, defaults={"sequence": len(rows), "hash": prev_hash})


def unchain(apps, schema_editor):
    apps.get_model("audit", "AuditChainHead").objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_alter_auditevent_action"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("sequence", models.PositiveBigIntegerField(default=0, verbose_name="마지막 순번")),
                ("hash", models.CharField(default=GENESIS_HASH, max_length=64, verbose_name="마지막 해시")),
            ],
            options={
                "verbose_name": "감사 기록 체인 끝",
                "verbose_name_plural": "감사 기록 체인 끝",
                "constraints": [models.CheckConstraint(condition=models.Q(("id", 1)), name="audit_chain_head_singleton")],
            },
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True, verbose_name="순번"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64, verbose_name="이전 해시"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64, verbose_name="해시"),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_rows, unchain),
    ]
