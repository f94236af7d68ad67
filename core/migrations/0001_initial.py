# Bank (from banking) and SmsMessage (from accounts) move to the core app.
# Their tables already exist: this migration only tells Django's state where
# the models live now; 0002 renames the tables.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("banking", "0004_recipient_lookup_limit"),
        ("accounts", "0003_designated_devices"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Bank",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("code", models.CharField(max_length=3, unique=True, verbose_name="은행 코드")),
                        ("slug", models.SlugField(unique=True, verbose_name="주소 이름")),
                        ("name_ko", models.CharField(max_length=40, verbose_name="은행 이름")),
                        ("name_en", models.CharField(max_length=60, verbose_name="영문 이름")),
                        ("colour", models.CharField(max_length=7, verbose_name="대표 색")),
                        ("account_grouping", models.CharField(default="3-2-7-1", max_length=20, verbose_name="계좌번호 표기")),
                    ],
                    options={
                        "verbose_name": "은행",
                        "verbose_name_plural": "은행",
                        "ordering": ["code"],
                        "db_table": "banking_bank",
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(("code__regex", "^[0-9]{3}$")), name="bank_code_three_digits"),
                            models.CheckConstraint(condition=models.Q(("colour__regex", "^#[0-9a-fA-F]{6}$")), name="bank_colour_hex"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SmsMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("phone", models.CharField(db_index=True, max_length=11, verbose_name="받는 번호")),
                        ("body", models.TextField(verbose_name="내용")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="발송일시")),
                    ],
                    options={
                        "verbose_name": "SMS 발송 기록",
                        "verbose_name_plural": "SMS 발송 기록",
                        "ordering": ["-created_at", "-id"],
                        "db_table": "accounts_smsmessage",
                    },
                ),
            ],
        ),
    ]
