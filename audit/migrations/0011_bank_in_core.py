# AuditEvent.bank points at core.Bank (state only: the foreign key is unchanged).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0010_transfer_replayed_favourites_lookup_limit"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="bank",
                    field=models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to="core.bank", verbose_name="은행"
                    ),
                ),
            ],
        ),
    ]
