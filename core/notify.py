"""Notices to customers, by SMS and e-mail, sent when the transaction commits."""

from django.core.mail import send_mail
from django.db import transaction

from core.sms import sms_send


def notify_customer(*, customer, subject: str, body: str) -> None:
    bank_name = customer.bank.name_ko if customer.bank_id else "Certbank"
    if customer.phone:
        sms_send(phone=customer.phone, body=f"[{bank_name}] {body}")
    if customer.email:
        email = customer.email
        transaction.on_commit(lambda: send_mail(f"[{bank_name}] {subject}", body, None, [email], fail_silently=True))
