# Foreign keys to the bank point at core.Bank (state only: they are unchanged).

import django.db.models.deletion
from django.db import migrations, models


def _bank(**kwargs):
    return models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="core.bank", **kwargs)


class Migration(migrations.Migration):

    dependencies = [
        ("certificates", "0007_copy_v2_commit_reveal"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(model_name="certificate", name="issuing_bank", field=_bank(verbose_name="발급 은행")),
                migrations.AlterField(model_name="certificateloginlock", name="bank", field=_bank()),
                migrations.AlterField(model_name="certificateregistration", name="bank", field=_bank(verbose_name="은행")),
                migrations.AlterField(model_name="challenge", name="bank", field=_bank()),
                migrations.AlterField(model_name="clouddevice", name="registered_through", field=_bank(verbose_name="등록 은행")),
                migrations.AlterField(model_name="copysession", name="bank", field=_bank()),
            ],
        ),
    ]
