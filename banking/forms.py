import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from banking.models import LedgerEntry

PERIODS = {"1w": 7, "1m": 31, "3m": 92}


class HistoryFilterForm(forms.Form):
    """거래내역조회: a preset period or explicit dates, and a type filter."""

    error_messages = {
        "order": _("조회 시작일이 종료일보다 늦습니다."),
        "span": _("한 번에 1년까지 조회할 수 있습니다."),
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

    def clean(self):
        cleaned = super().clean()
        period = cleaned.get("period") or "1m"
        if period in PERIODS:
            cleaned["date_to"] = self.today
            cleaned["date_from"] = self.today - datetime.timedelta(days=PERIODS[period])
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                raise forms.ValidationError(self.error_messages["order"], code="order")
            if (date_to - date_from).days > 366:
                raise forms.ValidationError(self.error_messages["span"], code="span")
        cleaned["period"] = period
        return cleaned
