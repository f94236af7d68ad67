"""주민등록번호 (resident registration number) rules.

Format YYMMDD-GNNNNNN. G gives sex and century (1/2 → 1900s, 3/4 → 2000s,
5–8 the same for registered foreigners, 9/0 → 1800s). Numbers issued
before October 2020 end in a check digit: weights 2,3,4,5,6,7,8,9,2,3,4,5
over the first twelve digits and (11 - sum % 11) % 10. Since October 2020
the last six digits are random (주민등록법 시행규칙 개정), so a number whose
check digit does not match is still accepted when the holder was born on or
after 2020-10-01: nobody born earlier was given a new-style number at birth.
"""

import datetime
from dataclasses import dataclass

WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
NEW_STYLE_FROM = datetime.date(2020, 10, 1)
_CENTURY = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}


class InvalidRRN(ValueError):
    """The text is not a possible resident registration number."""


@dataclass(frozen=True)
class RRN:
    digits: str  # 13 digits, no hyphen
    birth_date: datetime.date

    @property
    def formatted(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6:]}"

    @property
    def masked(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6]}******"


def digits(text: str) -> str:
    """The number as typed, without the hyphen and spaces (not checked)."""
    return "".join((text or "").replace("-", "").split())


def check_digit(first_twelve: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_twelve, WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def parse(text: str, *, today: datetime.date | None = None) -> RRN:
    """Parse and check an RRN; `today` (Seoul date) rules out future births."""
    digits = text.strip().replace("-", "")
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        raise InvalidRRN("format")
    century = _CENTURY[digits[6]]
    try:
        birth = datetime.date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        raise InvalidRRN("date") from None
    if birth > (today or datetime.date.today()):
        raise InvalidRRN("date")
    if check_digit(digits[:12]) != int(digits[12]) and birth < NEW_STYLE_FROM:
        raise InvalidRRN("check_digit")
    return RRN(digits=digits, birth_date=birth)


def age_on(rrn: RRN, day: datetime.date) -> int:
    years = day.year - rrn.birth_date.year
    if (day.month, day.day) < (rrn.birth_date.month, rrn.birth_date.day):
        years -= 1
    return years


def mask(digits: str) -> str:
    return f"{digits[:6]}-{digits[6]}******"
