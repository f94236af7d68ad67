from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import AccountNumberField, CodeField, PinField
from certificates.models import Certificate
from certificates.services import ReissueReason


class IdentityVerificationForm(forms.Form):
    """본인확인 for issuance, revocation and restoration: RRN, an own account
    with its PIN, and the OTP code; for issuance also the reason (재발급 사유)."""

    error_messages = {"otp_required": _("OTP 인증번호를 입력해 주세요.")}

    rrn = forms.CharField(
        label=_("주민등록번호"), max_length=14, widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"})
    )
    account_number = AccountNumberField()
    pin = PinField(label=_("계좌 비밀번호"))
    otp = CodeField(label=_("OTP 인증번호"), required=False)
    reason = forms.ChoiceField(label=_("발급 사유"), choices=ReissueReason.choices, initial=ReissueReason.NEW, required=False)
    kind = forms.ChoiceField(
        label=_("인증서 종류"),
        choices=Certificate.Kind.choices,
        initial=Certificate.Kind.JOINT,
        widget=forms.RadioSelect,
        required=False,
    )

    def __init__(self, *args, otp_required: bool, with_reason: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.otp_required = otp_required
        if not otp_required:
            del self.fields["otp"]
        if not with_reason:
            del self.fields["reason"]
            del self.fields["kind"]

    def clean_kind(self):
        return self.cleaned_data.get("kind") or Certificate.Kind.JOINT

    def clean_reason(self):
        return self.cleaned_data.get("reason") or ReissueReason.NEW

    def clean(self):
        cleaned = super().clean()
        if self.otp_required and not cleaned.get("otp") and "otp" not in self.errors:
            self.add_error("otp", forms.ValidationError(self.error_messages["otp_required"], code="otp_required"))
        return cleaned


class SmsCodeForm(forms.Form):
    code = CodeField(label=_("SMS 인증번호"))
