"""거래내역조회: preset periods counted in Asia/Seoul calendar days, 직접입력,
the type filter, paging, running balances, and bad filters as a 400."""

import datetime
import re
import zoneinfo

import pytest
import time_machine

from banking.forms import months_before
from banking.services import ledger_move
from tests.conftest import PASSWORD

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
TODAY = datetime.datetime(2026, 5, 31, 15, 0, tzinfo=SEOUL)


def seoul(month, day, hour=12, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=SEOUL)


# (when, amount, +1 credit / -1 debit), in the order they happen. Each pair
# straddles a period's first day at midnight in Seoul (15:00 UTC the day before).
MOVES = [
    (seoul(2, 27, 23, 59), 100, -1),  # before 3개월 (from 2026-02-28)
    (seoul(2, 28, 0, 0), 200, -1),  # first minute of 3개월
    (seoul(4, 29, 23, 59), 300, +1),  # before 1개월 (from 2026-04-30)
    (seoul(4, 30, 0, 5), 400, -1),  # inside 1개월
    (seoul(5, 23, 23, 59), 600, -1),  # before 1주일 (from 2026-05-24)
    (seoul(5, 24, 0, 0), 500, -1),  # first minute of 1주일
    (seoul(5, 31, 14, 0), 700, +1),  # today
]


@pytest.fixture
def history(make_customer, client):
    """홍길동 (opened 2026-01-05 with 1,000,000원) and the MOVES with 김영희, seen on TODAY."""
    with time_machine.travel(seoul(1, 5), tick=False):
        hong = make_customer()
        younghee = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    mine, theirs = hong.deposit_accounts.get(), younghee.deposit_accounts.get()
    for when, amount, sign in MOVES:
        with time_machine.travel(when, tick=False):
            debit, credit = (mine, theirs) if sign < 0 else (theirs, mine)
            ledger_move(debit_account=debit, credit_account=credit, amount=amount, description="테스트")
    with time_machine.travel(TODAY, tick=False):
        assert client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD}).status_code == 302
        yield client, mine


def rows(html: str) -> list[tuple[str, str, str]]:
    """(출금, 입금, 거래 후 잔액) of each row on the page, newest first."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells = re.findall(r'<td class="num amount( amount--out| amount--in)?">([^<]*)</td>', body)
    values = [text.strip() for _kind, text in cells]
    return [tuple(values[i : i + 3]) for i in range(0, len(values), 3)]


def amounts(html: str) -> list[int]:
    """The moved amounts on the page, newest first (signed: credit +, debit -)."""
    shown = []
    for out, into, _balance in rows(html):
        value = int((out or into).replace(",", "").replace("원", ""))
        shown.append(value if into else -value)
    return shown


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (datetime.date(2026, 5, 31), 1, datetime.date(2026, 4, 30)),
        (datetime.date(2026, 5, 31), 3, datetime.date(2026, 2, 28)),
        (datetime.date(2028, 5, 31), 3, datetime.date(2028, 2, 29)),
        (datetime.date(2026, 1, 15), 1, datetime.date(2025, 12, 15)),
        (datetime.date(2026, 3, 10), 3, datetime.date(2025, 12, 10)),
        (datetime.date(2026, 12, 1), 1, datetime.date(2026, 11, 1)),
    ],
)
def test_months_before_is_the_same_day_of_an_earlier_month_clamped_to_its_end(day, months, expected):
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("1w", [700, -500]),
        ("1m", [700, -500, -600, -400]),
        ("3m", [700, -500, -600, -400, 300, -200]),
    ],
)
def test_preset_periods_count_back_whole_days_in_seoul(history, period, expected):
    client, account = history
    with time_machine.travel(TODAY, tick=False):
        response = client.get(f"/nuri/accounts/{account.number}/?period={period}")
    assert response.status_code == 200
    assert amounts(response.content.decode()) == expected


def test_without_a_filter_the_page_shows_one_month_and_fills_the_date_fields(history):
    client, account = history
    with time_machine.travel(TODAY, tick=False):
        html = client.get(f"/nuri/accounts/{account.number}/").content.decode()
    assert amounts(html) == [700, -500, -600, -400]
    assert re.search(r'<input type="radio" name="period" value="1m"[^>]*checked', html)
    assert 'name="date_from" value="2026-04-30"' in html and 'name="date_to" value="2026-05-31"' in html
    assert "조회기간 2026.04.30 ~ 2026.05.31 · 4건" in " ".join(html.split())
    # Each preset chip carries its dates for the page script (1주일: 2026-05-24 ~ 2026-05-31).
    assert 'data-from="2026-05-24" data-to="2026-05-31"' in html


def test_custom_dates_and_the_type_filter(history):
    client, account = history
    url = f"/nuri/accounts/{account.number}/?period=custom&date_from=2026-02-28&date_to=2026-04-29"
    with time_machine.travel(TODAY, tick=False):
        everything = client.get(url).content.decode()
        credits = client.get(url + "&direction=credit").content.decode()
        debits = client.get(url + "&direction=debit").content.decode()
    assert amounts(everything) == [300, -200]
    assert amounts(credits) == [300]
    assert amounts(debits) == [-200]


def test_each_row_shows_the_balance_after_it(history):
    client, account = history
    with time_machine.travel(TODAY, tick=False):
        html = client.get(f"/nuri/accounts/{account.number}/?period=custom&date_from=2026-01-01&date_to=2026-05-31")
    balances = [balance for _out, _in, balance in rows(html.content.decode())]
    assert balances == [
        "999,200원",
        "998,500원",
        "999,000원",
        "999,600원",
        "1,000,000원",
        "999,700원",
        "999,900원",
        "1,000,000원",  # the welcome deposit
    ]


def _link(html: str, name: str) -> str | None:
    """The pager's link carrying the `name` cursor (older / newer), unescaped."""
    match = re.search(rf'href="(\?[^"]*{name}=[0-9_]+)"', html)
    return match[1].replace("&amp;", "&") if match else None


def test_pages_of_twenty_keep_the_filter(make_customer, client):
    hong = make_customer()
    younghee = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    mine = hong.deposit_accounts.get()
    for amount in range(1, 25):
        ledger_move(debit_account=mine, credit_account=younghee.deposit_accounts.get(), amount=amount, description="테스트")
    client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    path = f"/nuri/accounts/{mine.number}/"
    base = path + "?period=1w&direction=debit"
    first = client.get(base).content.decode()
    assert amounts(first) == [-n for n in range(24, 4, -1)]
    assert "24건" in first and _link(first, "newer") is None
    older = _link(first, "older")
    assert older.startswith("?period=1w&direction=debit&older=")
    second = client.get(path + older).content.decode()
    assert amounts(second) == [-4, -3, -2, -1]
    assert _link(second, "older") is None
    newer = _link(second, "newer")
    assert newer.startswith("?period=1w&direction=debit&newer=")
    assert amounts(client.get(path + newer).content.decode()) == amounts(first)
    # A cursor that is not one shows the newest page, never a 500; so does one past the oldest entry.
    for crafted in ("abc", "99999999999999999999_1", "1_\x00", "-5_3", "1" * 400):
        assert amounts(client.get(base + "&older=" + crafted).content.decode()) == amounts(first), crafted
        assert amounts(client.get(base + "&newer=" + crafted).content.decode()) == amounts(first), crafted
    assert amounts(client.get(base + "&older=0_0").content.decode()) == amounts(first)
    # Newer than the epoch: the oldest twenty, with nothing older.
    oldest = client.get(base + "&newer=0_0").content.decode()
    assert amounts(oldest) == [-n for n in range(20, 0, -1)] and _link(oldest, "older") is None


def test_a_page_link_of_the_first_visit_keeps_its_one_month_period(make_customer, client, time_machine):
    time_machine.move_to(datetime.datetime(2026, 5, 31, 3, 0, tzinfo=datetime.UTC), tick=False)
    hong = make_customer()
    younghee = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    mine, theirs = hong.deposit_accounts.get(), younghee.deposit_accounts.get()
    time_machine.move_to(datetime.datetime(2026, 3, 1, 3, 0, tzinfo=datetime.UTC), tick=False)
    ledger_move(debit_account=mine, credit_account=theirs, amount=7, description="석 달 전")
    time_machine.move_to(datetime.datetime(2026, 5, 31, 3, 0, tzinfo=datetime.UTC), tick=False)
    for amount in range(100, 125):
        ledger_move(debit_account=mine, credit_account=theirs, amount=amount, description="이번 달")
    client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    path = f"/nuri/accounts/{mine.number}/"
    first = client.get(path).content.decode()
    second = client.get(path + _link(first, "older")).content.decode()
    assert -7 not in amounts(second)  # still the last month, as on the first page


def test_a_long_history_is_counted_only_up_to_a_thousand(make_customer, client):
    from banking import selectors

    hong = make_customer()
    younghee = make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
    mine = hong.deposit_accounts.get()
    entries = selectors.account_entries(account=mine)
    assert selectors.history_page(entries, size=20).count == 1
    for amount in range(1, selectors.HISTORY_COUNT_CAP + 1):
        ledger_move(debit_account=mine, credit_account=younghee.deposit_accounts.get(), amount=amount, description="테스트")
    page = selectors.history_page(entries, size=20)
    assert page.count == selectors.HISTORY_COUNT_CAP + 1 and page.count_capped
    client.post("/nuri/login/", {"login_id": "hong", "password": PASSWORD})
    assert "1,000건 이상" in client.get(f"/nuri/accounts/{mine.number}/?period=1w").content.decode()


OUT_OF_RANGE = "조회기간은 2000.01.01부터 오늘(2026.05.31)까지 입력할 수 있습니다."
BOTH_DATES = "직접입력은 시작일과 종료일을 모두 입력해 주세요."


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&date_from=2026-05-02&date_to=2026-05-01", "조회 시작일이 종료일보다 늦습니다."),
        ("period=custom&date_from=2025-01-01&date_to=2026-05-01", "한 번에 1년까지 조회할 수 있습니다."),
        ("period=custom&date_from=2026-13-45", "올바른 날짜를 입력하세요."),
        ("period=forever", "올바르게 선택해 주세요."),
        ("direction=sideways", "올바르게 선택해 주세요."),
        # Dates are bounded (2000-01-01 .. today): the far past and future once overflowed into a 500.
        ("period=custom&date_from=0001-01-01&date_to=2026-05-01", OUT_OF_RANGE),
        ("period=custom&date_from=2026-05-01&date_to=9999-12-31", OUT_OF_RANGE),
        ("period=custom&date_from=9999-12-31&date_to=9999-12-31", OUT_OF_RANGE),
        ("period=custom&date_from=1999-12-31&date_to=2000-01-05", OUT_OF_RANGE),
        ("period=custom&date_from=2026-05-31&date_to=2026-06-01", OUT_OF_RANGE),  # tomorrow in Seoul
        # 직접입력 needs both dates.
        ("period=custom&date_from=2026-05-01", BOTH_DATES),
        ("period=custom&date_to=2026-05-01", BOTH_DATES),
        ("period=custom&date_from=&date_to=", BOTH_DATES),
        ("period=custom", BOTH_DATES),
    ],
)
def test_bad_filters_are_a_400_with_a_korean_message(history, query, message):
    client, account = history
    with time_machine.travel(TODAY, tick=False):
        page = client.get(f"/nuri/accounts/{account.number}/?{query}")
        csv = client.get(f"/nuri/accounts/{account.number}/history.csv?{query}")
    assert page.status_code == 400 and message in page.content.decode()
    assert amounts(page.content.decode()) == []
    assert csv.status_code == 400 and message in csv.content.decode()


def test_the_first_and_the_last_day_allowed_are_accepted(history):
    client, account = history
    with time_machine.travel(TODAY, tick=False):
        oldest = client.get(f"/nuri/accounts/{account.number}/?period=custom&date_from=2000-01-01&date_to=2000-12-31")
        today = client.get(f"/nuri/accounts/{account.number}/?period=custom&date_from=2026-05-31&date_to=2026-05-31")
    assert oldest.status_code == 200 and amounts(oldest.content.decode()) == []
    assert today.status_code == 200 and amounts(today.content.decode()) == [700]
    # The date pickers offer only that range.
    html = today.content.decode()
    assert 'min="2000-01-01"' in html and 'max="2026-05-31"' in html
