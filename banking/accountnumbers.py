"""Deposit account numbers: bank code, product, serial and a check digit.

Stored as 13 digits: 3-digit bank code, 2-digit product code, 7-digit serial
and a Luhn check digit over the first 12, so any single mistyped digit and
every swap of two neighbours except 0↔9 is caught before any lookup. Each bank prints them in its own
grouping (`Bank.account_grouping`, e.g. "3-2-7-1" → 901-10-0001234-5).
"""

import secrets

PRODUCT_DEMAND_DEPOSIT = "10"  # 입출금 자유예금
PRODUCT_INTERNAL = "99"  # the bank's own ledger accounts
# Serials of the bank's own accounts under PRODUCT_INTERNAL.
SERIAL_OPERATING = 0  # 본점 운영계정 (welcome deposits)
SERIAL_FEE_INCOME = 1  # 타행이체 수수료 수입
SERIAL_DATA_LOAD = 2  # 측정용 데이터 자금: pays the opening deposits of manage.py generate_data
LENGTH = 13


def luhn_check_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def make(bank_code: str, product: str, serial: int) -> str:
    body = f"{bank_code}{product}{serial:07d}"
    return body + luhn_check_digit(body)


def random_serial() -> int:
    return secrets.randbelow(10_000_000)


def normalise(text: str) -> str:
    """Digits only: customers type account numbers with or without hyphens."""
    return "".join(ch for ch in text if ch not in "- ")


def is_valid(number: str) -> bool:
    return len(number) == LENGTH and number.isascii() and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def display(number: str, grouping: str) -> str:
    sizes = [int(part) for part in grouping.split("-")]
    if sum(sizes) != len(number):
        return number
    parts, start = [], 0
    for size in sizes:
        parts.append(number[start : start + size])
        start += size
    return "-".join(parts)
