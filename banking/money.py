"""Amounts in Korean words, as bank slips and the signed transfer text write them."""

_DIGITS = "영일이삼사오육칠팔구"
_SMALL = ["", "십", "백", "천"]
_LARGE = ["", "만", "억", "조", "경"]


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
