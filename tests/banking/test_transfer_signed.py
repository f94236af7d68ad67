"""Signed transfers: flows.transfers.transfer_signed and the verifier
certificates.challenges.transfer_signature_verify."""

import datetime

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.device import device_digest
from accounts.exceptions import OtpCodeInvalid, SmsCodeInvalid
from accounts.models import DesignatedDevice
from audit.models import AuditEvent
from banking.exceptions import DailyLimitExceeded, ExtraAuthRequired, OtpRequired, TransferTextMismatch
from banking.models import DepositAccount, Transfer
from banking.services import TransferDraft
from certificates.exceptions import CertificateRefused, Refusal
from certificates.models import Certificate, Challenge
from core.models import Throttle
from flows.transfers import transfer_challenge_create, transfer_signed
from tests.certificates.conftest import SESSION, issue_for, sign
from tests.conftest import totp_now

DEVICE = "d" * 43


def draft_for(holder, to_account, amount=50_000, **kw):
    values = dict(
        from_account_id=holder.customer.deposit_accounts.get().pk,
        to_bank_code=to_account.bank.code,
        to_number=to_account.number,
        amount=amount,
        memo_mine="월세",
        memo_theirs="홍길동",
        at=timezone.now(),
    )
    values.update(kw)
    return TransferDraft(**values)


def submit(holder, draft, *, challenge=None, key=None, certificate_der=None, session_key=SESSION, **kw):
    challenge = challenge or transfer_challenge_create(
        customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft
    )
    return transfer_signed(
        customer=holder.customer,
        bank=holder.customer.bank,
        draft=draft,
        session_key=session_key,
        token=challenge.token,
        certificate_der=certificate_der or holder.der,
        signature=sign(key or holder.key, bytes(challenge.to_sign)),
        device_token=kw.pop("device_token", DEVICE),
        **kw,
    )


def balances():
    return sorted(DepositAccount.objects.values_list("pk", "balance"))


def test_the_signed_text_is_the_review_text_with_the_request_number(holder, chulsoo):
    draft = draft_for(holder, chulsoo.deposit_accounts.get(), at=datetime.datetime(2026, 5, 1, 3, 4, 5, tzinfo=datetime.UTC))
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    text = bytes(challenge.to_sign).decode()
    lines = text.split("\n")
    assert lines[0] == "[Certbank] 누리은행 계좌이체"
    assert lines[1].startswith("출금계좌: 누리은행 901-")
    assert lines[2:] == [
        "입금은행: 다온은행",
        f"입금계좌: {chulsoo.deposit_accounts.get().display_number}",
        "받는분: 이*수",
        "금액: 50,000원 (오만원)",
        "수수료: 500원",
        "메모(내 통장): 월세",
        "메모(받는 분 통장): 홍길동",
        "일시: 2026-05-01 12:04:05 (KST)",
        f"요청 번호: {challenge.token}",
    ]
    assert challenge.purpose == Challenge.Purpose.TRANSFER


def test_signed_transfer_pays_and_keeps_the_evidence(holder, chulsoo):
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    record, replayed = submit(holder, draft)
    assert replayed is False
    assert chulsoo.deposit_accounts.get().balance == 50_000
    assert record.signer_certificate == holder.certificate
    assert bytes(record.signed_bytes) == bytes(record.challenge.to_sign)
    assert record.signature_scheme == "pkcs1v15"
    assert record.verified_at is not None
    assert Challenge.objects.get(pk=record.challenge_id).consumed_at is not None


def test_a_replayed_signature_pays_once_and_returns_the_first_transfer(holder, chulsoo):
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    first, _ = submit(holder, draft, challenge=challenge)
    after_first = balances()
    again, replayed = submit(holder, draft, challenge=challenge)
    assert replayed is True and again.pk == first.pk
    assert balances() == after_first
    assert Transfer.objects.count() == 1
    # The replay is a security event of its own: audited, naming the transfer it got back.
    replays = AuditEvent.objects.filter(action="transfer_replayed")
    assert [(e.customer_id, e.detail["reference"]) for e in replays] == [(holder.customer.pk, str(first.reference))]


def test_signature_over_other_bytes_is_refused_and_moves_nothing(holder, chulsoo):
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    before = balances()
    with pytest.raises(CertificateRefused) as refused:
        transfer_signed(
            customer=holder.customer,
            bank=holder.customer.bank,
            draft=draft,
            session_key=SESSION,
            token=challenge.token,
            certificate_der=holder.der,
            signature=sign(holder.key, bytes(challenge.to_sign).replace(b"50,000", b"5,000")),
            device_token=DEVICE,
        )
    assert refused.value.reason == Refusal.BAD_SIGNATURE
    assert balances() == before and Transfer.objects.count() == 0
    # The challenge stays used: the refusal is not a second chance.
    assert Challenge.objects.get(pk=challenge.pk).consumed_at is not None
    assert AuditEvent.objects.filter(action="certificate_refused", detail__reason="bad_signature").exists()


def test_draft_changed_after_signing_is_refused(holder, chulsoo):
    # SECURITY: a session draft swapped after the review (another tab, a
    # crafted request) does not get paid with a signature over the old text.
    account = chulsoo.deposit_accounts.get()
    draft = draft_for(holder, account)
    challenge = transfer_challenge_create(customer=holder.customer, bank=holder.customer.bank, session_key=SESSION, draft=draft)
    bigger = draft_for(holder, account, amount=500_000, at=draft.at)
    before = balances()
    with pytest.raises(TransferTextMismatch):
        submit(holder, bigger, challenge=challenge)
    assert balances() == before


def test_another_customers_certificate_is_refused(holder, younghee, rsa_keys, chulsoo):
    # SECURITY: 김영희's valid certificate, registered at the same bank, does not approve 홍길동's transfer.
    other = issue_for(younghee, rsa_keys[1])
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    before = balances()
    with pytest.raises(CertificateRefused) as refused:
        submit(holder, draft, key=other.key, certificate_der=other.der)
    assert refused.value.reason == Refusal.NOT_OWNER
    assert balances() == before


def test_certificate_not_registered_at_this_bank_is_refused(holder, make_customer, rsa_keys, chulsoo):
    gildong = make_customer(bank_code="902", login_id="gildong", deposit=100_000)
    from tests.certificates.conftest import Holder

    at_garam = Holder(customer=gildong, certificate=holder.certificate, key=holder.key, r=holder.r)
    draft = draft_for(at_garam, chulsoo.deposit_accounts.get())
    with pytest.raises(CertificateRefused) as refused:
        submit(at_garam, draft)
    assert refused.value.reason == Refusal.NOT_REGISTERED


def test_suspended_or_revoked_certificate_is_refused(holder, chulsoo):
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    Certificate.objects.filter(pk=holder.certificate.pk).update(status="suspended", revocation_reason="certificate_hold")
    with pytest.raises(CertificateRefused) as refused:
        submit(holder, draft)
    assert refused.value.reason == Refusal.SUSPENDED
    Certificate.objects.filter(pk=holder.certificate.pk).update(status="revoked", revoked_at=timezone.now())
    with pytest.raises(CertificateRefused) as refused:
        submit(holder, draft)
    assert refused.value.reason == Refusal.REVOKED
    assert Transfer.objects.count() == 0


def test_challenge_from_another_session_is_refused(holder, chulsoo):
    draft = draft_for(holder, chulsoo.deposit_accounts.get())
    with pytest.raises(CertificateRefused) as refused:
        submit(holder, draft, session_key="another-session")
    assert refused.value.reason == Refusal.WRONG_SESSION


def test_login_challenge_cannot_pay(holder, chulsoo):
    from certificates.challenges import challenge_create

    login = challenge_create(purpose=Challenge.Purpose.LOGIN, bank=holder.customer.bank, session_key=SESSION)
    with pytest.raises(CertificateRefused) as refused:
        submit(holder, draft_for(holder, chulsoo.deposit_accounts.get()), challenge=login)
    assert refused.value.reason == Refusal.WRONG_PURPOSE


def test_over_the_otp_threshold_the_otp_is_required_and_checked(holder, younghee, settings):
    settings.CERTBANK_TRANSFER_OTP_THRESHOLD = 10_000
    device = TOTPDevice.objects.create(user=holder.customer, name="OTP", confirmed=True)
    draft = draft_for(holder, younghee.deposit_accounts.get(), amount=20_000)
    with pytest.raises(OtpRequired):
        submit(holder, draft)
    with pytest.raises(OtpCodeInvalid):
        submit(holder, draft, otp_code="000000" if totp_now(device) != "000000" else "111111")
    assert Transfer.objects.count() == 0
    # The failure survived the refused request: audited and counted (for the OTP's back-off).
    assert AuditEvent.objects.filter(action="otp_failed").exists()
    assert Throttle.objects.get(scope="otp", key=str(holder.customer.pk)).failures == 1
    # A mistyped code followed by the right one passes at once, and the count starts again.
    record, _ = submit(holder, draft, otp_code=totp_now(device))
    assert record.amount == 20_000
    assert not Throttle.objects.filter(scope="otp", key=str(holder.customer.pk)).exists()


def test_reaching_the_daily_sms_threshold_from_an_undesignated_device_needs_the_sms_code(
    holder, younghee, settings, sms_code, django_capture_on_commit_callbacks
):
    settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD = 100_000
    account = younghee.deposit_accounts.get()
    submit(holder, draft_for(holder, account, amount=60_000))  # 60,000 today: below
    draft = draft_for(holder, account, amount=40_000)  # reaches 100,000
    with pytest.raises(ExtraAuthRequired) as refused:
        submit(holder, draft)
    assert "100,000원" in refused.value.message
    from accounts.services import sms_code_send

    with django_capture_on_commit_callbacks(execute=True):
        sms_code_send(bind="transfer", customer=holder.customer, reason="이체 추가 인증")
    code = sms_code()
    with pytest.raises(SmsCodeInvalid):
        submit(holder, draft, sms_code="000000" if code != "000000" else "111111")
    from accounts.models import PhoneDevice

    PhoneDevice.objects.get(user=holder.customer).throttle_reset()  # as after the throttle's wait
    record, _ = submit(holder, draft, sms_code=code)
    assert record.amount == 40_000
    # From a designated device, no SMS check.
    DesignatedDevice.objects.create(customer=holder.customer, token_digest=device_digest(DEVICE), name="집 PC")
    record, _ = submit(holder, draft_for(holder, account, amount=1_000))
    assert record.amount == 1_000


def test_limit_refusal_after_signing_is_audited_and_moves_nothing(holder, younghee, settings):
    settings.CERTBANK_TRANSFER_LIMITS = {"otp": (100, 100), "basic": (100, 150)}
    account = younghee.deposit_accounts.get()
    submit(holder, draft_for(holder, account, amount=100))
    before = balances()
    with pytest.raises(DailyLimitExceeded) as refused:
        submit(holder, draft_for(holder, account, amount=100))
    assert refused.value.remaining == 50
    assert balances() == before
    assert AuditEvent.objects.filter(action="transfer_refused", detail__reason="DailyLimitExceeded").exists()


def test_a_financial_certificate_signs_a_transfer_like_a_joint_one(test_ca, customer, rsa_keys, chulsoo):
    """금융인증서 works for signing wherever a 공동인증서 does (issue 5)."""
    from tests.certificates.conftest import Holder
    from tests.certificates.test_cloud import issue_cloud

    certificate = issue_cloud(customer, rsa_keys[1])
    cloud_holder = Holder(customer=customer, certificate=certificate, key=rsa_keys[1], r=b"")
    record, _replayed = submit(cloud_holder, draft_for(cloud_holder, chulsoo.deposit_accounts.get()))
    assert record.signer_certificate.kind == Certificate.Kind.FINANCIAL
    assert chulsoo.deposit_accounts.get().balance == 50_000
