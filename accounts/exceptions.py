"""Refusals of the customer side (core.errors.DomainError: a code, the Korean
message a customer sees, a 4xx status)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.errors import DomainError, Throttled, wait_text


class LoginIdTaken(DomainError):
    status = 409
    message = _("이미 사용 중인 아이디입니다. 다른 아이디를 입력해 주세요.")


class AlreadyCustomer(DomainError):
    status = 409
    message = _("이미 이 은행의 고객입니다. 기존 아이디로 로그인해 주세요.")


class SignupExpired(DomainError):
    status = 410
    message = _("가입 신청 시간이 지났습니다. 처음부터 다시 진행해 주세요.")


class InvalidCredentials(DomainError):
    status = 403

    def __init__(self, remaining: int | None = None):
        self.remaining = remaining
        if remaining is None:
            message = _("아이디 또는 비밀번호가 올바르지 않습니다.")
        else:
            message = ngettext(
                "아이디 또는 비밀번호가 올바르지 않습니다. %(n)d회 더 틀리면 로그인이 잠깁니다.",
                "아이디 또는 비밀번호가 올바르지 않습니다. %(n)d회 더 틀리면 로그인이 잠깁니다.",
                remaining,
            ) % {"n": remaining}
        super().__init__(message)


class LoginLocked(DomainError):
    status = 403
    message = _(
        "비밀번호를 5회 연속 잘못 입력하여 로그인이 잠겼습니다. 본인확인 후 비밀번호를 재설정하거나 영업점에 문의해 주세요."
    )


class SmsCodeInvalid(DomainError):
    status = 403
    message = _("인증번호가 올바르지 않습니다.")

    def __init__(self, left: int | None = None):
        self.left = left
        message = None
        if left is not None:
            message = ngettext(
                "인증번호가 올바르지 않습니다. %(n)d회 더 틀리면 이 인증번호는 쓸 수 없습니다.",
                "인증번호가 올바르지 않습니다. %(n)d회 더 틀리면 이 인증번호는 쓸 수 없습니다.",
                left,
            ) % {"n": left}
        super().__init__(message)


class SmsCodeExpired(DomainError):
    status = 410
    message = _("인증번호가 만료되었거나 사용할 수 없습니다. 인증번호를 다시 받아 주세요.")


class SmsCodeExhausted(DomainError):
    """The code was mistyped CERTBANK_SMS_MAX_FAILURES times: it is gone."""

    status = 403
    message = _("인증번호를 5회 잘못 입력하여 이 인증번호는 더 쓸 수 없습니다. 인증번호를 다시 받아 주세요.")


class SmsSendThrottled(Throttled):
    @staticmethod
    def message_for(seconds: int) -> str:
        minutes = max(1, -(-seconds // 60))
        return ngettext(
            "인증번호를 여러 번 요청했습니다. %(n)d분 후에 다시 요청해 주세요.",
            "인증번호를 여러 번 요청했습니다. %(n)d분 후에 다시 요청해 주세요.",
            minutes,
        ) % {"n": minutes}


class SmsCooldown(Throttled):
    def __init__(self, seconds: int):
        self.seconds = seconds
        super().__init__(seconds, _("인증번호를 방금 보냈습니다. %(s)d초 후에 다시 요청해 주세요.") % {"s": seconds})


class IdentityMismatch(DomainError):
    status = 403
    message = _("입력하신 정보가 고객 정보와 일치하지 않습니다.")


class IdentityLocked(DomainError):
    status = 403
    message = _("본인확인에 5회 연속 실패하여 잠겼습니다. 신분증을 지참하여 영업점을 방문해 주세요.")


class OtpCodeInvalid(DomainError):
    status = 403
    message = _("OTP 인증번호가 올바르지 않습니다. OTP 앱에 표시된 6자리 숫자를 입력해 주세요.")

    def __init__(self, wait: int = 0):
        self.wait = wait
        message = None
        if wait:
            message = _("OTP 인증번호가 올바르지 않습니다. %(s)d초 후에 다시 입력해 주세요.") % {"s": wait}
        super().__init__(message)


class OtpThrottled(Throttled):
    @staticmethod
    def message_for(seconds: int) -> str:
        return _("OTP 인증번호를 여러 번 잘못 입력했습니다. %(s)d초 후에 다시 입력해 주세요.") % {"s": seconds}


class DeviceLimitReached(DomainError):
    status = 409

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(_("단말기는 %(n)d대까지 지정할 수 있습니다. 쓰지 않는 단말기를 먼저 해제해 주세요.") % {"n": limit})


class DeviceAlreadyDesignated(DomainError):
    status = 409
    message = _("이 단말기는 이미 지정되어 있습니다.")


class VerificationRequired(DomainError):
    """No finished, unused step-up verification for what was asked (accounts.verification)."""

    code = "not_verified"
    status = 403
    message = _("본인확인을 먼저 완료해 주세요.")


class IdentityThrottled(Throttled):
    """Too many wrong 본인확인 from one network while logged out (flows.stepup)."""

    @staticmethod
    def message_for(seconds: int) -> str:
        return _("본인확인 정보를 여러 번 잘못 입력했습니다. %(wait)s") % {"wait": wait_text(seconds)}
