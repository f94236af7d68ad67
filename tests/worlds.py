"""Pieces of the seeded worlds that the fuzzer (tests/fuzz/world.py) and
the authorization sweep (tests/security/world.py) both build: browsers that
carry a device cookie, logged in as a customer or as staff, and transfers
signed the way a browser signs them."""

from django.test import Client
from django.utils import timezone

from accounts.device import DEVICE_COOKIE
from banking.models import DepositAccount, Transfer
from banking.services import TransferDraft
from flows.transfers import transfer_challenge_create, transfer_signed
from tests.certificates.conftest import sign
from tests.conftest import totp_now


def browser(device: str | None = None, **extra) -> Client:
    """A browser; with `device`, the device cookie a bank's pages set (43 URL-safe characters)."""
    client = Client(**extra)
    if device:
        client.cookies[DEVICE_COOKIE] = device
    return client


def log_in(client: Client, *, bank_slug: str, login_id: str, password: str) -> Client:
    """The bank's password login; the client then holds the session."""
    response = client.post(f"/{bank_slug}/login/", {"login_id": login_id, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def staff_log_in(client: Client, *, username: str, password: str, device) -> Client:
    """The staff console's login: password and the code of the TOTP `device`."""
    response = client.post(
        "/staff/login/",
        {
            "username": username,
            "password": password,
            "otp_device": device.persistent_id,
            "otp_token": totp_now(device),
            "next": "/staff/",
        },
    )
    assert response.status_code == 302, (username, response.content.decode()[:2000])
    return client


def signed_transfer(
    holder, to_account: DepositAccount, *, amount: int, memo_mine: str, memo_theirs: str, session_key: str, device_token: str
) -> Transfer:
    """A transfer from the holder's account, signed with the holder's 공동인증서 (flows.transfers)."""
    customer = holder.customer
    draft = TransferDraft(
        from_account_id=DepositAccount.objects.get(owner=customer).pk,
        to_bank_code=to_account.bank.code,
        to_number=to_account.number,
        amount=amount,
        memo_mine=memo_mine,
        memo_theirs=memo_theirs,
        at=timezone.now(),
    )
    challenge = transfer_challenge_create(customer=customer, bank=customer.bank, session_key=session_key, draft=draft)
    record, _replayed = transfer_signed(
        customer=customer,
        bank=customer.bank,
        draft=draft,
        session_key=session_key,
        token=challenge.token,
        certificate_der=holder.der,
        signature=sign(holder.key, bytes(challenge.to_sign)),
        device_token=device_token,
    )
    return record
