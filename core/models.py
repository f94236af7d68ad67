"""The shared core's records: the banks (the tenants every other app hangs
off) and the demo SMS gateway's outbox.

Both were first written in other apps (banking, accounts); their tables
moved here with the models (migrations 0001 and 0002).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.phone import mask_phone


class Bank(models.Model):
    code = models.CharField(_("은행 코드"), max_length=3, unique=True)
    slug = models.SlugField(_("주소 이름"), unique=True)
    name_ko = models.CharField(_("은행 이름"), max_length=40)
    name_en = models.CharField(_("영문 이름"), max_length=60)
    colour = models.CharField(_("대표 색"), max_length=7)
    account_grouping = models.CharField(_("계좌번호 표기"), max_length=20, default="3-2-7-1")

    class Meta:
        verbose_name = _("은행")
        verbose_name_plural = _("은행")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{3}$"), name="bank_code_three_digits"),
            models.CheckConstraint(condition=Q(colour__regex=r"^#[0-9a-fA-F]{6}$"), name="bank_colour_hex"),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name_ko


class SmsMessage(models.Model):
    """The demo SMS gateway's outbox (shown on the 내 휴대폰 demo page)."""

    phone = models.CharField(_("받는 번호"), max_length=11, db_index=True)
    body = models.TextField(_("내용"))
    created_at = models.DateTimeField(_("발송일시"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS 발송 기록")
        verbose_name_plural = _("SMS 발송 기록")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{mask_phone(self.phone)} {self.created_at:%H:%M:%S}"


class Throttle(models.Model):
    """Failures counted for one key of one scope, with back-off (core.throttle).

    A key is what the failures are charged to: a client network, a network
    and a certificate, a customer's OTP. Kept in the database so that every
    web worker sees the same count."""

    scope = models.CharField(_("구분"), max_length=40)
    key = models.CharField(_("대상"), max_length=200)
    failures = models.PositiveIntegerField(_("연속 실패"), default=0)
    last_failure_at = models.DateTimeField(_("마지막 실패 일시"))
    blocked_until = models.DateTimeField(_("대기 종료 일시"), null=True, blank=True)

    class Meta:
        verbose_name = _("실패 횟수 제한")
        verbose_name_plural = _("실패 횟수 제한")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="throttle_once_per_scope_key")]
        indexes = [models.Index(fields=["last_failure_at"])]

    def __str__(self):
        return f"{self.scope} {self.key}: {self.failures}"
