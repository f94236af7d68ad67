# Bank moved to the core app (core.0001); its foreign keys here point there
# (state only: the table and the foreign keys are unchanged until core.0002).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_bank_and_sms_in_core"),
        ("audit", "0011_bank_in_core"),
        ("banking", "0004_recipient_lookup_limit"),
        ("certificates", "0008_bank_in_core"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="transfer",
                    name="to_bank",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="core.bank", verbose_name="입금은행"
                    ),
                ),
                migrations.AlterField(
                    model_name="depositaccount",
                    name="bank",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="accounts", to="core.bank", verbose_name="은행"
                    ),
                ),
                migrations.DeleteModel(name="Bank"),
            ],
        ),
    ]
