"""Why a certificate or a signature was refused. One reason, one message,
one status (core.errors.DomainError)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, Throttled, wait_text


class Refusal(models.TextChoices):
    MALFORMED_REQUEST = "malformed_request", _("요청 형식이 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.")
    CHALLENGE_UNKNOWN = "challenge_unknown", _("서명 요청을 찾을 수 없습니다. 다시 시도해 주세요.")
    CHALLENGE_REPLAYED = "challenge_replayed", _("이미 사용된 서명 요청입니다. 다시 시도해 주세요.")
    CHALLENGE_EXPIRED = "challenge_expired", _("서명 요청 시간이 지났습니다. 다시 시도해 주세요.")
    WRONG_SESSION = "wrong_session", _("다른 화면에서 만든 서명 요청입니다. 다시 시도해 주세요.")
    WRONG_PURPOSE = "wrong_purpose", _("이 용도로 만든 서명 요청이 아닙니다.")
    WRONG_BANK = "wrong_bank", _("다른 은행의 서명 요청입니다.")
    MALFORMED_CERTIFICATE = "malformed_certificate", _("인증서를 읽을 수 없습니다.")
    UNKNOWN_CA = "unknown_ca", _("신뢰할 수 없는 기관이 발급한 인증서입니다.")
    NOT_ISSUED_BY_US = "not_issued_by_us", _("Certbank 인증기관에서 발급한 기록이 없는 인증서입니다.")
    EXPIRED = "expired", _("만료된 인증서입니다. 인증서를 재발급 받아 주세요.")
    NOT_YET_VALID = "not_yet_valid", _("아직 유효기간이 시작되지 않은 인증서입니다.")
    REVOKED = "revoked", _("폐기된 인증서입니다. 인증서를 재발급 받아 주세요.")
    SUPERSEDED = (
        "superseded",
        _("갱신 또는 재발급으로 새 인증서로 바뀐 인증서입니다. 새 인증서를 선택해 주세요."),
    )
    SUSPENDED = "suspended", _("효력이 정지된 인증서입니다. 효력회복 후 이용해 주세요.")
    NOT_REGISTERED = "not_registered", _("이 인증서는 타행/타기관 인증서 등록 후 이용할 수 있습니다.")
    WEAK_KEY = "weak_key", _("보안 기준(RSA 2048비트 이상)에 맞지 않는 인증서입니다.")
    WRONG_KEY_USAGE = "wrong_key_usage", _("전자서명용 인증서가 아닙니다.")
    BAD_SIGNATURE = "bad_signature", _("전자서명 검증에 실패했습니다.")
    CUSTOMER_INACTIVE = "customer_inactive", _("이용할 수 없는 고객 정보입니다. 영업점에 문의해 주세요.")
    BAD_PUBLIC_KEY = "bad_public_key", _("인증서 발급에 쓸 수 없는 키입니다. RSA 2048비트 키를 다시 만들어 주세요.")
    BAD_RANDOM = "bad_random", _("본인확인 값(R)이 올바르지 않습니다.")
    NOT_VERIFIED = "not_verified", _("본인확인을 먼저 완료해 주세요.")
    NOT_OWNER = "not_owner", _("본인의 인증서가 아닙니다.")
    NOT_SAME_PERSON = "not_same_person", _("본인 명의의 인증서가 아닙니다. 고객님 본인의 인증서만 등록할 수 있습니다.")
    ALREADY_REGISTERED = "already_registered", _("이미 이 은행에 등록된 인증서입니다.")
    RENEWAL_TOO_EARLY = "renewal_too_early", _("갱신은 만료 30일 전부터 만료일까지 할 수 있습니다.")
    ALREADY_ISSUED = (
        "already_issued",
        _("이미 처리된 발급 요청입니다. 인증서 관리에서 발급된 인증서를 확인해 주세요."),
    )
    ALREADY_RENEWED = (
        "already_renewed",
        _("이미 갱신되었거나 더 이상 유효하지 않은 인증서입니다. 새로 고친 뒤 다시 시도해 주세요."),
    )
    # 금융인증서 (cloud)
    WEAK_PIN = "weak_pin", _("같은 숫자의 반복, 연속된 숫자, 생년월일은 PIN으로 쓸 수 없습니다. 다른 PIN을 정해 주세요.")
    WRONG_PIN = "wrong_pin", _("PIN이 올바르지 않습니다.")
    CLOUD_LOCKED = (
        "cloud_locked",
        _("PIN을 5회 연속 잘못 입력하여 금융인증서가 잠겼습니다. 인증센터에서 본인확인 후 재발급 받아 주세요."),
    )
    DEVICE_NOT_REGISTERED = (
        "device_not_registered",
        _("이 기기는 금융인증서 이용기기로 등록되어 있지 않습니다. 로그인 후 인증센터 › 이용기기 관리에서 등록해 주세요."),
    )
    DEVICE_LIMIT = "device_limit", _("이용기기는 5대까지 등록할 수 있습니다. 쓰지 않는 기기를 삭제한 뒤 다시 시도해 주세요.")
    NOT_CLOUD_CERTIFICATE = "not_cloud_certificate", _("금융인증서가 아닙니다.")
    BAD_CLOUD_KEY = "bad_cloud_key", _("금융인증서 키 정보가 올바르지 않습니다. 처음부터 다시 시도해 주세요.")


# HTTP status of the refusals that are not a 403 (a clear 4xx, never a 500).
REFUSAL_STATUS = {
    Refusal.MALFORMED_REQUEST: 400,
    Refusal.BAD_PUBLIC_KEY: 400,
    Refusal.BAD_RANDOM: 400,
    Refusal.BAD_CLOUD_KEY: 400,
    Refusal.WEAK_PIN: 400,
    Refusal.ALREADY_REGISTERED: 409,
    Refusal.ALREADY_ISSUED: 409,
    Refusal.ALREADY_RENEWED: 409,
    Refusal.RENEWAL_TOO_EARLY: 409,
    Refusal.DEVICE_LIMIT: 409,
}


class CertificateRefused(DomainError):
    def __init__(self, reason: Refusal, message: str | None = None, *, status: int | None = None, retry_after=None):
        self.reason = reason
        # `message`: a more specific one for this refusal (e.g. with the PIN error count).
        super().__init__(
            message or reason.label,
            code=reason.value,
            status=status or REFUSAL_STATUS.get(reason, 403),
            retry_after=retry_after,
        )


class InvalidTransition(DomainError):
    """A certificate status change the state machine does not allow."""

    status = 409
    message = _("이 인증서는 지금 상태에서 그렇게 바꿀 수 없습니다.")


class CopyRefusal(models.TextChoices):
    """Why a 인증서 복사 request was refused. One reason, one message."""

    MALFORMED_REQUEST = "malformed_request", _("요청 형식이 올바르지 않습니다. 처음부터 다시 시작해 주세요.")
    BAD_PUBLIC_KEY = "bad_public_key", _("기기 키가 올바르지 않습니다. 처음부터 다시 시작해 주세요.")
    BAD_COMMITMENT = "bad_commitment", _("받는 기기의 확인 값이 올바르지 않습니다. 처음부터 다시 시작해 주세요.")
    COMMITMENT_MISMATCH = (
        "commitment_mismatch",
        _("받는 기기의 키가 처음에 약속한 값과 다릅니다. 인증서 복사를 중단했습니다. 받는 기기에서 다시 시작해 주세요."),
    )
    BAD_CIPHERTEXT = "bad_ciphertext", _("전송할 인증서 데이터가 올바르지 않습니다. 다시 시도해 주세요.")
    BAD_NUMBER = "bad_number", _("인증번호 8자리를 정확히 입력해 주세요.")
    NOT_FOUND = "not_found", _("인증번호가 맞지 않습니다. 받는 기기 화면의 번호를 확인해 주세요.")
    THROTTLED = (
        "throttled",
        _("인증번호를 5회 잘못 입력했습니다. 1분 뒤에 다시 시도해 주세요."),
    )
    NETWORK_THROTTLED = (
        "network_throttled",
        _("이 네트워크에서 인증번호를 잘못 입력한 횟수가 너무 많습니다. 잠시 후(최대 10분) 다시 시도해 주세요."),
    )
    OPEN_THROTTLED = (
        "open_throttled",
        _("이 네트워크에서 인증서 복사를 너무 자주 시작했습니다. 잠시 후(최대 10분) 다시 시도해 주세요."),
    )
    EXPIRED = "expired", _("인증서 복사 시간(3분)이 지났습니다. 받는 기기에서 다시 시작해 주세요.")
    ALREADY_JOINED = "already_joined", _("이미 다른 기기가 연결한 번호입니다. 받는 기기에서 다시 시작해 주세요.")
    ALREADY_REVEALED = "already_revealed", _("이미 확인 코드를 만든 인증서 복사입니다. 처음부터 다시 시작해 주세요.")
    ALREADY_SENT = "already_sent", _("이미 인증서를 보낸 번호입니다. 받는 기기에서 다시 시작해 주세요.")
    ALREADY_RECEIVED = "already_received", _("이미 가져간 인증서입니다. 다시 받으려면 처음부터 시작해 주세요.")
    CANCELLED = "cancelled", _("인증서 복사가 취소되었습니다. 받는 기기에서 다시 시작해 주세요.")
    NOT_YET_JOINED = "not_yet_joined", _("아직 보내는 기기가 연결되지 않았습니다.")
    NOT_YET_REVEALED = "not_yet_revealed", _("아직 받는 기기의 확인 코드가 준비되지 않았습니다. 잠시 후 다시 시도해 주세요.")
    NOT_YET_SENT = "not_yet_sent", _("아직 보내는 기기에서 인증서를 보내지 않았습니다.")
    WRONG_SESSION = "wrong_session", _("이 화면에서 시작한 인증서 복사가 아닙니다. 처음부터 다시 시작해 주세요.")


# HTTP status of each copy refusal (a clear 4xx, never a 500).
COPY_REFUSAL_STATUS = {
    CopyRefusal.MALFORMED_REQUEST: 400,
    CopyRefusal.BAD_PUBLIC_KEY: 400,
    CopyRefusal.BAD_COMMITMENT: 400,
    CopyRefusal.COMMITMENT_MISMATCH: 400,
    CopyRefusal.BAD_CIPHERTEXT: 400,
    CopyRefusal.BAD_NUMBER: 400,
    CopyRefusal.NOT_FOUND: 404,
    CopyRefusal.THROTTLED: 429,
    CopyRefusal.NETWORK_THROTTLED: 429,
    CopyRefusal.OPEN_THROTTLED: 429,
    CopyRefusal.EXPIRED: 410,
    CopyRefusal.ALREADY_JOINED: 409,
    CopyRefusal.ALREADY_REVEALED: 409,
    CopyRefusal.ALREADY_SENT: 409,
    CopyRefusal.ALREADY_RECEIVED: 410,
    CopyRefusal.CANCELLED: 410,
    CopyRefusal.NOT_YET_JOINED: 409,
    CopyRefusal.NOT_YET_REVEALED: 409,
    CopyRefusal.NOT_YET_SENT: 409,
    CopyRefusal.WRONG_SESSION: 403,
}


class CopyRefused(DomainError):
    def __init__(self, reason: CopyRefusal):
        self.reason = reason
        super().__init__(reason.label, code=reason.value, status=COPY_REFUSAL_STATUS[reason])


class CertificateLoginThrottled(Throttled):
    """A network that sent too many bad signatures waits (certificates.login); nothing is locked."""

    @staticmethod
    def message_for(seconds: int) -> str:
        return _("인증서 로그인에 여러 번 실패했습니다. %(wait)s") % {"wait": wait_text(seconds)}
