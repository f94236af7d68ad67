import datetime

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from bank.http import Base64Field
from banking import accountnumbers
from banking.models import LedgerEntry

# Preset periods as Korean banks count them: 1주일 back 7 days, 1개월 and
# 3개월 back to the same day of an earlier month (clamped to its last day).
PERIOD_WEEKS = {"1w": 1}
PERIOD_MONTHS = {"1m": 1, "3m": 3}


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` calendar months earlier: 2026-05-31 → 2026-04-30."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    next_month = datetime.date(year + (month == 12), month % 12 + 1, 1)
    return datetime.date(year, month, min(day.day, (next_month - datetime.timedelta(days=1)).day))


def period_range(period: str, today: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """(from, to) of a preset period ending today, or None for 직접입력."""
    if period in PERIOD_WEEKS:
        return today - datetime.timedelta(weeks=PERIOD_WEEKS[period]), today
    if period in PERIOD_MONTHS:
        return months_before(today, PERIOD_MONTHS[period]), today
    return None


# The earliest day 거래내역조회 accepts. Bounding the dates keeps every
# datetime built from them (Seoul midnight, the day after) representable.
HISTORY_FIRST_DAY = datetime.date(2000, 1, 1)


class HistoryFilterForm(forms.Form):
    """거래내역조회: a preset period or explicit dates, and a type filter.

    Typed dates must lie between HISTORY_FIRST_DAY and today (Asia/Seoul).
    A date after today is refused rather than clamped to today: it is most
    likely a typo (2062 for 2026), and the customer should see that instead
    of a silently different period.
    """

    error_messages = {
        "order": _("조회 시작일이 종료일보다 늦습니다."),
        "span": _("한 번에 1년까지 조회할 수 있습니다."),
        "range": _("조회기간은 %(first)s부터 오늘(%(today)s)까지 입력할 수 있습니다."),
        "missing": _("직접입력은 시작일과 종료일을 모두 입력해 주세요."),
    }

    period = forms.ChoiceField(
        label=_("조회기간"),
        required=False,
        choices=[("1w", _("1주일")), ("1m", _("1개월")), ("3m", _("3개월")), ("custom", _("직접입력"))],
        widget=forms.RadioSelect,
    )
    date_from = forms.DateField(label=_("시작일"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("종료일"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    direction = forms.ChoiceField(
        label=_("거래구분"),
        required=False,
        choices=[("", _("전체")), (LedgerEntry.Direction.CREDIT, _("입금")), (LedgerEntry.Direction.DEBIT, _("출금"))],
    )

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        for name in ("date_from", "date_to"):
            self.fields[name].widget.attrs.update(min=HISTORY_FIRST_DAY.isoformat(), max=today.isoformat())

    def period_options(self) -> list[tuple[forms.BoundField, tuple[datetime.date, datetime.date] | None]]:
        """Each period radio with the dates it stands for (None for 직접입력),
        so the page can fill the date fields when a preset is picked."""
        return [(radio, period_range(radio.data["value"], self.today)) for radio in self["period"]]

    def clean(self):
        cleaned = super().clean()
        period = cleaned.get("period") or "1m"
        preset = period_range(period, self.today)
        if preset is not None:
            cleaned["date_from"], cleaned["date_to"] = preset
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if preset is None and "date_from" not in self.errors and "date_to" not in self.errors:
            if not (date_from and date_to):
                raise forms.ValidationError(self.error_messages["missing"], code="missing")
        for day in (date_from, date_to):
            # SECURITY: a crafted 0001-01-01 or 9999-12-31 overflowed the
            # datetime arithmetic of the query into a 500.
            if day and not HISTORY_FIRST_DAY <= day <= self.today:
                raise forms.ValidationError(
                    self.error_messages["range"],
                    code="range",
                    params={"first": f"{HISTORY_FIRST_DAY:%Y.%m.%d}", "today": f"{self.today:%Y.%m.%d}"},
                )
        if date_from and date_to:
            if date_from > date_to:
                raise forms.ValidationError(self.error_messages["order"], code="order")
            if (date_to - date_from).days > 366:
                raise forms.ValidationError(self.error_messages["span"], code="span")
        cleaned["period"] = period
        return cleaned


class WonField(forms.IntegerField):
    """Whole won; accepts what a customer types: 50,000 / 50000원."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(",", "").replace("원", "").strip()
        return super().to_python(value)


ACCOUNT_NUMBER_MESSAGE = _("계좌번호는 숫자와 하이픈(-)으로 입력해 주세요.")
BANK_CODE_MESSAGE = _("입금은행을 다시 선택해 주세요.")


def account_number_digits(value: str) -> str:
    """The digits of an account number typed with or without hyphens/spaces;
    anything else (letters, NUL bytes, full-width digits) is a ValidationError."""
    digits = value.strip().replace("-", "").replace(" ", "")
    # SECURITY: ASCII digits only, and no more than an account number has:
    # nothing else reaches a query (PostgreSQL refuses NUL bytes with an error).
    if not digits or len(digits) > accountnumbers.LENGTH or not digits.isascii() or not digits.isdigit():
        raise forms.ValidationError(ACCOUNT_NUMBER_MESSAGE, code="account_number")
    return digits


class RecipientLookupForm(forms.Form):
    """수취인 조회 from the transfer form: a 3-digit bank code and an account number."""

    bank = forms.RegexField(
        regex=r"\A[0-9]{3}\Z",
        max_length=3,
        error_messages={
            "required": BANK_CODE_MESSAGE,
            "invalid": BANK_CODE_MESSAGE,
            "max_length": BANK_CODE_MESSAGE,
            "null_characters_not_allowed": BANK_CODE_MESSAGE,
        },
    )
    number = forms.CharField(
        max_length=20,
        error_messages={
            "required": ACCOUNT_NUMBER_MESSAGE,
            "max_length": ACCOUNT_NUMBER_MESSAGE,
            "null_characters_not_allowed": ACCOUNT_NUMBER_MESSAGE,
        },
    )

    def clean_number(self):
        return account_number_digits(self.cleaned_data["number"])

    def first_error(self) -> str:
        return next(str(error) for errors in self.errors.values() for error in errors)


class TransferForm(forms.Form):
    """계좌이체 입력: the shape of the input; the rules are banking.services'."""

    error_messages = {
        "account_number": ACCOUNT_NUMBER_MESSAGE,
    }

    from_account = forms.TypedChoiceField(label=_("출금계좌"), coerce=int)
    to_bank = forms.ChoiceField(label=_("입금은행"))
    to_number = forms.CharField(
        label=_("입금계좌번호"),
        max_length=20,
        error_messages={"null_characters_not_allowed": ACCOUNT_NUMBER_MESSAGE},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": _("'-' 없이 입력 가능")}),
    )
    amount = WonField(
        label=_("이체금액"),
        min_value=1,
        max_value=10**12,
        error_messages={"min_value": _("이체금액은 1원 이상이어야 합니다."), "invalid": _("이체금액은 숫자로 입력해 주세요.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "data-amount-input": ""}),
    )
    memo_mine = forms.CharField(label=_("내 통장 표시"), max_length=20, required=False, help_text=_("20자 이내"))
    memo_theirs = forms.CharField(label=_("받는 분 통장 표시"), max_length=20, required=False, help_text=_("20자 이내"))

    def __init__(self, *args, accounts, banks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_account"].choices = [
            (account.pk, f"{account.product_name} {account.display_number} ({account.balance:,}원)") for account in accounts
        ]
        self.fields["to_bank"].choices = [(bank.code, f"{bank.name} ({bank.code})") for bank in banks]

    def clean_to_number(self):
        return account_number_digits(self.cleaned_data["to_number"])

    def clean_memo_mine(self):
        return self.cleaned_data["memo_mine"].strip()

    def clean_memo_theirs(self):
        return self.cleaned_data["memo_theirs"].strip()


class TransferApprovalForm(forms.Form):
    """The signed request: the challenge, the certificate and signature (base64), codes."""

    challenge = forms.CharField(max_length=64, validators=[RegexValidator(r"^[A-Za-z0-9_-]+\Z")])
    certificate = Base64Field(max_bytes=8192)
    signature = Base64Field(max_bytes=1024)
    otp_code = forms.CharField(max_length=6, required=False)
    sms_code = forms.CharField(max_length=6, required=False)
