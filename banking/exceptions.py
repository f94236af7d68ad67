from django.utils.translation import gettext_lazy as _


class BankingError(Exception):
    message = _("요청을 처리할 수 없습니다.")

    def __init__(self, message=None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class AccountPinInvalid(BankingError):
    def __init__(self, remaining: int):
        self.remaining = remaining
        super().__init__(_("계좌 비밀번호가 올바르지 않습니다. %(n)d회 더 틀리면 계좌 비밀번호가 잠깁니다.") % {"n": remaining})


class AccountPinLocked(BankingError):
    message = _("계좌 비밀번호를 5회 연속 잘못 입력하여 잠겼습니다. 영업점에 문의해 주세요.")


class InvalidAmount(BankingError):
    message = _("금액은 1원 이상의 정수여야 합니다.")


class InsufficientFunds(BankingError):
    message = _("잔액이 부족합니다.")
