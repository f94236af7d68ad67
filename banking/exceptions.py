"""Refusals of the banking side (core.errors.DomainError: a code, the Korean
message a customer sees, a 4xx status)."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, Throttled


class AccountPinInvalid(DomainError):
    status = 403
    message = _("계좌 비밀번호가 올바르지 않습니다.")

    def __init__(self, remaining: int | None = None):
        self.remaining = remaining
        message = None
        if remaining is not None:
            message = _("계좌 비밀번호가 올바르지 않습니다. %(n)d회 더 틀리면 계좌 비밀번호가 잠깁니다.") % {"n": remaining}
        super().__init__(message)


class AccountPinLocked(DomainError):
    status = 403
    message = _("계좌 비밀번호를 5회 연속 잘못 입력하여 잠겼습니다. 영업점에 문의해 주세요.")


class InvalidAmount(DomainError):
    status = 400
    message = _("금액은 1원 이상의 정수여야 합니다.")


class InsufficientFunds(DomainError):
    status = 409
    message = _("잔액이 부족합니다.")


def _won(amount: int) -> str:
    return gettext("%(amount)s원") % {"amount": f"{amount:,}"}


class RecipientNotFound(DomainError):
    status = 404
    message = _("입금계좌를 찾을 수 없습니다. 입금은행과 계좌번호를 확인해 주세요.")


class SameAccount(DomainError):
    status = 400
    message = _("출금계좌와 입금계좌가 같습니다. 다른 입금계좌를 입력해 주세요.")


class WithdrawalAccountInvalid(DomainError):
    status = 400
    message = _("출금할 수 없는 계좌입니다. 본인의 이 은행 계좌를 선택해 주세요.")


class InsufficientFundsForTransfer(InsufficientFunds):
    def __init__(self, *, needed: int, available: int):
        self.needed, self.available = needed, available
        super().__init__(
            _("잔액이 부족합니다. 수수료를 포함해 %(needed)s이 필요하고, 출금 가능 금액은 %(available)s입니다.")
            % {"needed": _won(needed), "available": _won(available)}
        )


class TransferLimitExceeded(DomainError):
    status = 409
    """Over the per-transfer limit of the customer's security grade."""

    def __init__(self, *, limit: int):
        self.limit = limit
        super().__init__(_("1회 이체한도를 초과했습니다. 한 번에 %(limit)s까지 이체할 수 있습니다.") % {"limit": _won(limit)})


class DailyLimitExceeded(DomainError):
    status = 409
    """Over the per-day limit: says how much is left today."""

    def __init__(self, *, limit: int, remaining: int):
        self.limit, self.remaining = limit, remaining
        super().__init__(_("1일 이체한도를 초과했습니다. 오늘 남은 한도는 %(remaining)s입니다.") % {"remaining": _won(remaining)})


class OtpRequired(DomainError):
    status = 403  # a second factor the transfer needs and did not carry
    message = _("이 금액을 이체하려면 OTP 인증번호를 입력해 주세요.")


class ExtraAuthRequired(DomainError):
    status = 403

    def __init__(self, *, threshold: int):
        self.threshold = threshold
        super().__init__(
            _(
                "오늘 이체 누적금액이 %(threshold)s 이상이 되어, 지정하지 않은 단말기에서는 SMS 추가 인증이 필요합니다. "
                "인증번호를 받아 입력해 주세요."
            )
            % {"threshold": _won(threshold)}
        )


class TransferTextMismatch(DomainError):
    status = 409
    message = _("서명한 이체 내용이 확인 화면과 다릅니다. 처음부터 다시 진행해 주세요.")


class EvidenceRequired(DomainError):
    status = 400
    """A transfer without the customer's signature (and not declared the bank's own)."""

    message = _("전자서명이 없는 이체는 처리할 수 없습니다. 인증서로 서명한 뒤 다시 시도해 주세요.")


class RecipientLookupThrottled(Throttled):
    """Too many failed 수취인 조회 in the window: wait before the next one."""

    def __init__(self, *, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        message = _("수취인 조회에 여러 번 실패하여 잠시 조회할 수 없습니다. %(minutes)d분 후에 다시 시도해 주세요.")
        super().__init__(retry_after, message % {"minutes": minutes})
