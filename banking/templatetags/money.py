"""Money in templates: `1,234,567원` and Korean words (일백이십삼만사천오백육십칠원)."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()

_DIGITS = "영일이삼사오육칠팔구"
_SMALL = ["", "십", "백", "천"]
_LARGE = ["", "만", "억", "조", "경"]


@register.filter
def won(value) -> str:
    """1234567 → '1,234,567원'."""
    if value in (None, ""):
        return ""
    # English pages read "KRW 1,234,567"; the signed transfer text stays Korean (it is built elsewhere).
    return _("%(amount)s원") % {"amount": f"{int(value):,}"}


@register.filter
def won_amount(value) -> str:
    """1234567 → '1,234,567' (for tables with a 원 header)."""
    if value in (None, ""):
        return ""
    return f"{int(value):,}"


def korean_number(value: int) -> str:
    """1000000 → '일백만', 30500 → '삼만오백', as on Korean bank slips."""
    if value == 0:
        return "영"
    sign = "마이너스 " if value < 0 else ""
    value = abs(value)
    groups = []
    while value:
        groups.append(value % 10000)
        value //= 10000
    words = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        part = ""
        for position in range(3, -1, -1):
            digit = group // (10**position) % 10
            if digit:
                part += _DIGITS[digit] + _SMALL[position]
        words.append(part + _LARGE[index])
    return sign + "".join(words)


@register.filter
def won_korean(value) -> str:
    if value in (None, ""):
        return ""
    return f"{korean_number(int(value))}원"
