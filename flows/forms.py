"""The forms of the step-up steps, one per step, reused by every flow that
needs a verification (accounts.verification): 본인확인, OTP and SMS."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import AccountNumberField, CodeField, PinField, RRNInput


class IdentityStepForm(forms.Form):
    """본인확인: the RRN, one of the person's accounts and its PIN, and who
    they are when not logged in: their name (MODE_NAME), or the login ID
    whose password they reset (MODE_LOGIN_ID)."""

    MODE_SESSION = "session"
    MODE_NAME = "name"
    MODE_LOGIN_ID = "login_id"

    name = forms.CharField(label=_("이름"), max_length=30, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    login_id = forms.CharField(label=_("아이디"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    rrn = forms.CharField(
        label=_("주민등록번호"),
        max_length=14,
        help_text=_("13자리 숫자 (예: 900101-1234567)"),
        widget=RRNInput(),
    )
    account_number = AccountNumberField()
    pin = PinField(label=_("계좌 비밀번호"))

    def __init__(self, *args, mode: str = MODE_SESSION, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = mode
        if mode != self.MODE_NAME:
            del self.fields["name"]
        if mode != self.MODE_LOGIN_ID:
            del self.fields["login_id"]

    def clean_rrn(self):
        digits = "".join(ch for ch in self.cleaned_data["rrn"] if ch in "0123456789")
        if len(digits) != 13:
            raise forms.ValidationError(_("주민등록번호 13자리를 입력해 주세요."), code="invalid")
        return digits

    def clean_login_id(self):
        return self.cleaned_data["login_id"].strip().lower()


class OtpStepForm(forms.Form):
    code = CodeField(label=_("OTP 인증번호"), help_text=_("OTP 앱에 표시된 6자리 숫자"))


class SmsStepForm(forms.Form):
    code = CodeField(label=_("SMS 인증번호"))
