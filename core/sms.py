"""The SMS gateway. Pluggable through CERTBANK_SMS_GATEWAY (a dotted path to a
class with `send(phone, body)`); the default is the demo outbox."""

import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from core.models import SmsMessage
from core.phone import mask_phone

logger = logging.getLogger("certbank.sms")


# A one-time code in a message body: "인증번호 [123456]".
_CODE = re.compile(r"\[\d{4,8}\]")


def sms_log_text(body: str) -> str:
    """The body as the log may keep it: any one-time code masked."""
    return _CODE.sub("[******]", body)


class OutboxGateway:
    """Demo gateway: keeps messages for the 내 휴대폰 page and logs them, the
    code masked (the log is read by more people than the customer's phone).

    Message bodies hold codes and notices only, never an RRN."""

    def send(self, phone: str, body: str) -> None:
        SmsMessage.objects.create(phone=phone, body=body)
        logger.info("SMS to %s: %s", mask_phone(phone), sms_log_text(body))


def gateway():
    return import_string(settings.CERTBANK_SMS_GATEWAY)()


def sms_send(*, phone: str, body: str) -> None:
    """Send after the surrounding transaction commits (nothing for a rollback)."""
    transaction.on_commit(lambda: gateway().send(phone, body))
