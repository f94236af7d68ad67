"""Money in templates: `1,234,567원` and Korean words (일백이십삼만사천오백육십칠원)."""

from django import template
from django.utils.translation import gettext as _

from banking.money import korean_number

register = template.Library()


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


@register.filter
def won_korean(value) -> str:
    if value in (None, ""):
        return ""
    return f"{korean_number(int(value))}원"
