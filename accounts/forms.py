"""Forms check the shape of input; services check the rules."""

import re

from django import forms
from django.contrib.auth import password_validation
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import rrn as rrn_rules
from accounts.models import Customer
from banking import accountnumbers

PHONE_RE = re.compile(r"^01[016789][0-9]{7,8}$")
LOGIN_ID_RE = re.compile(r"^[a-z][a-z0-9_]{3,19}$")
CODE_RE = re.compile(r"^[0-9]{6}$")
PIN_RE = re.compile(r"^[0-9]{4}$")
MIN_SIGNUP_AGE = 14


def _digits(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


class RRNInput(forms.TextInput):
    """An RRN is typed, never shown back: a refused form comes back with it empty,
    so the number is not kept in the page, the browser's cache or an error report."""

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "inputmode": "numeric", **(attrs or {})})

    def format_value(self, value):
        return None


class RRNField(forms.CharField):
    widget = RRNInput
    default_error_messages = {
        "invalid": _("주민등록번호를 정확히 입력해 주세요 (예: 900101-1234567)."),
        "check_digit": _("주민등록번호가 올바르지 않습니다. 다시 확인해 주세요."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 14)
        kwargs.setdefault("label", _("주민등록번호"))
        super().__init__(**kwargs)
        self.widget.attrs.update({"placeholder": "900101-1234567"})

    def clean(self, value):
        # Parse after CharField.clean: its max_length validator needs the text, not the RRN.
        value = super().clean(value)
        if not value:
            return value
        try:
            return rrn_rules.parse(value, today=timezone.localdate())
        except rrn_rules.InvalidRRN as exc:
            code = "check_digit" if str(exc) == "check_digit" else "invalid"
            raise forms.ValidationError(self.error_messages[code], code=code) from None


class PhoneField(forms.CharField):
    default_error_messages = {"invalid": _("휴대폰 번호를 정확히 입력해 주세요 (예: 010-1234-5678).")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 13)
        kwargs.setdefault("label", _("휴대폰 번호"))
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "tel", "autocomplete": "tel", "placeholder": "010-1234-5678"})

    def to_python(self, value):
        value = _digits(super().to_python(value))
        if value and not PHONE_RE.match(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class CodeField(forms.CharField):
    default_error_messages = {"invalid": _("6자리 숫자를 입력해 주세요.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("min_length", 6)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"})

    def to_python(self, value):
        value = _digits(super().to_python(value))
        if value and not CODE_RE.match(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class PinField(forms.CharField):
    default_error_messages = {"invalid": _("계좌 비밀번호는 숫자 4자리입니다.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 4)
        kwargs.setdefault("widget", forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value and not PIN_RE.match(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class AccountNumberField(forms.CharField):
    default_error_messages = {"invalid": _("계좌번호를 정확히 입력해 주세요.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("label", _("계좌번호"))
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value):
        value = accountnumbers.normalise(super().to_python(value) or "")
        if value and not accountnumbers.is_valid(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class LoginForm(forms.Form):
    login_id = forms.CharField(
        label=_("아이디"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        label=_("비밀번호"), max_length=128, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def clean_login_id(self):
        # Sign-up stores IDs in lower case; "Hong" must find "hong".
        return self.cleaned_data["login_id"].lower()


class SignupForm(forms.Form):
    error_messages = {
        "password_mismatch": _("비밀번호가 서로 다릅니다."),
        "too_young": _("만 14세 이상만 비대면으로 계좌를 개설할 수 있습니다."),
        "login_id": _("아이디는 영문 소문자로 시작하는 4~20자의 영문 소문자, 숫자, _ 입니다."),
    }

    name = forms.CharField(label=_("이름"), max_length=30, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    rrn = RRNField()
    phone = PhoneField()
    email = forms.EmailField(label=_("이메일"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    login_id = forms.CharField(label=_("아이디"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password1 = forms.CharField(
        label=_("비밀번호"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("비밀번호 확인"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    agree = forms.BooleanField(
        label=_("개인(신용)정보 수집·이용에 동의합니다."), error_messages={"required": _("약관에 동의해 주세요.")}
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not re.fullmatch(r"[가-힣A-Za-z ]{2,30}", name):
            raise forms.ValidationError(_("이름은 한글 또는 영문으로 2자 이상 입력해 주세요."), code="name")
        return name

    def clean_login_id(self):
        login_id = self.cleaned_data["login_id"].strip().lower()
        if not LOGIN_ID_RE.match(login_id):
            raise forms.ValidationError(self.error_messages["login_id"], code="login_id")
        return login_id

    def clean_rrn(self):
        value = self.cleaned_data["rrn"]
        if self.today is not None and rrn_rules.age_on(value, self.today) < MIN_SIGNUP_AGE:
            raise forms.ValidationError(self.error_messages["too_young"], code="too_young")
        return value

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", forms.ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"))
        elif p1:
            probe = Customer(login_id=cleaned.get("login_id", ""), name=cleaned.get("name", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class SignupVerifyForm(forms.Form):
    error_messages = {"pin_mismatch": _("계좌 비밀번호가 서로 다릅니다.")}

    code = CodeField(label=_("SMS 인증번호"))
    pin1 = PinField(label=_("계좌 비밀번호 (숫자 4자리)"))
    pin2 = PinField(label=_("계좌 비밀번호 확인"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("pin1") and cleaned.get("pin2") and cleaned["pin1"] != cleaned["pin2"]:
            self.add_error("pin2", forms.ValidationError(self.error_messages["pin_mismatch"], code="pin_mismatch"))
        return cleaned


class NewPasswordForm(forms.Form):
    error_messages = {"password_mismatch": _("비밀번호가 서로 다릅니다.")}

    password1 = forms.CharField(
        label=_("새 비밀번호"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("새 비밀번호 확인"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", forms.ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"))
        elif p1:
            try:
                password_validation.validate_password(p1, self.customer)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class OtpConfirmForm(forms.Form):
    code = CodeField(label=_("OTP 인증번호"))


class DeviceDesignateForm(forms.Form):
    name = forms.CharField(label=_("단말기 이름"), max_length=40, required=False, help_text=_("예: 집 PC, 회사 노트북"))
