# The moved tables take the core app's names (foreign keys follow the rename).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("banking", "0005_bank_in_core"),
        ("accounts", "0004_bank_and_sms_in_core"),
    ]

    operations = [
        migrations.AlterModelTable(name="bank", table=None),
        migrations.AlterModelTable(name="smsmessage", table=None),
    ]
