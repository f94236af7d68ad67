"""static/js/ui/transfer.js: Korean amount words in the browser match the
server's (banking.money.korean_number), which the review text uses."""

import pytest

from banking.money import korean_number

pytestmark = pytest.mark.browser

VALUES = [1, 10, 999, 10_000, 30_500, 50_000, 1_000_000, 1_234_567, 100_010_000, 123_456_789, 1_000_000_000_000, 0]


def test_korean_words_match_the_server(js):
    words = js(
        """async (values) => {
            const { koreanNumber } = await import("/js/ui/transfer.js");
            return values.map((v) => koreanNumber(v));
        }""",
        VALUES,
    )
    assert words == [korean_number(v) for v in VALUES]
    assert words[5] == "오만"
