"""Phone numbers as customers see them: masked (010-****-5678) or grouped."""


def mask_phone(phone: str) -> str:
    if len(phone) < 8:
        return phone
    return f"{phone[:3]}-****-{phone[-4:]}"


def format_phone(phone: str) -> str:
    if len(phone) == 11:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    return phone
