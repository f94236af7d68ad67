# Customer.bank points at core.Bank, and SmsMessage now lives in core
# (state only: the table and the foreign key stay as they are).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_designated_devices"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="SmsMessage"),
                migrations.AlterField(
                    model_name="customer",
                    name="bank",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="customers",
                        to="core.bank",
                        verbose_name="은행",
                    ),
                ),
            ],
        ),
    ]
