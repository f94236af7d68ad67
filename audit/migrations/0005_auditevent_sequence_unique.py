from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_hash_chain"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(unique=True, verbose_name="순번"),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "base_manager_name": "objects",
                "ordering": ["-created_at", "-id"],
                "verbose_name": "감사 기록",
                "verbose_name_plural": "감사 기록",
            },
        ),
    ]
