from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from bank.http import Base64Field
from certificates.exceptions import CopyRefusal, CopyRefused
from certificates.models import Certificate, Challenge
from certificates.services import ReissueReason


class IssueChoiceForm(forms.Form):
    """What an issuance is for, asked with 본인확인 and kept on the verification:
    the kind of certificate and the reason (재발급 사유)."""

    kind = forms.ChoiceField(
        label=_("인증서 종류"),
        choices=Certificate.Kind.choices,
        initial=Certificate.Kind.JOINT,
        widget=forms.RadioSelect,
        required=False,
    )
    reason = forms.ChoiceField(label=_("발급 사유"), choices=ReissueReason.choices, initial=ReissueReason.NEW, required=False)

    def clean_kind(self):
        return self.cleaned_data.get("kind") or Certificate.Kind.JOINT

    def clean_reason(self):
        return self.cleaned_data.get("reason") or ReissueReason.NEW


# --- What the pages' scripts send (bank.http.json_endpoint) ---------------------------------

TOKEN_FIELD = {"max_length": 64, "required": False, "validators": [RegexValidator(r"^[A-Za-z0-9_-]*\Z")]}


class ChallengeTokenField(forms.CharField):
    """A challenge's token as the server handed it out (URL-safe base64); an
    empty one is the service's refusal (unknown challenge), anything else is malformed."""

    def __init__(self, **kwargs):
        super().__init__(**{**TOKEN_FIELD, **kwargs})


class SerialField(forms.CharField):
    """A certificate serial: 1 to 40 hexadecimal digits, lower case."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, validators=[RegexValidator(r"^[0-9a-fA-F]{1,40}\Z")], **kwargs)

    def to_python(self, value):
        return super().to_python(value).strip().lower()


class ChallengeRequestForm(forms.Form):
    purpose = forms.ChoiceField(choices=Challenge.Purpose.choices)


class SignedForm(forms.Form):
    """A certificate and its signature over a challenge (login, registration)."""

    challenge = ChallengeTokenField()
    certificate = Base64Field(max_bytes=8192)
    signature = Base64Field(max_bytes=1024)


class RegisterForm(SignedForm):
    r = Base64Field(max_bytes=64)


class IssueForm(forms.Form):
    """A new key's public half, its proof of possession and R (and, for a
    금융인증서, the PIN verifier and the key wrapped in the browser)."""

    challenge = ChallengeTokenField()
    public_key = Base64Field(max_bytes=2048)
    signature = Base64Field(max_bytes=1024)
    r = Base64Field(max_bytes=64)
    verifier = Base64Field(max_bytes=64, required=False)
    wrapped_key = Base64Field(max_bytes=8192, required=False)


class RenewForm(SignedForm):
    public_key = Base64Field(max_bytes=2048)
    new_signature = Base64Field(max_bytes=1024)
    r = Base64Field(max_bytes=64)

    @staticmethod
    def service_arguments(data: dict) -> dict:
        """What both renewals (갱신, 자동 갱신) take from the request."""
        return {
            "token": data["challenge"],
            "certificate_der": data["certificate"],
            "signature": data["signature"],
            "public_key_spki": data["public_key"],
            "new_signature": data["new_signature"],
            "r": data["r"],
        }


class CloudRenewForm(RenewForm):
    old_verifier = Base64Field(max_bytes=64)
    verifier = Base64Field(max_bytes=64)
    wrapped_key = Base64Field(max_bytes=8192)


class CloudSerialForm(forms.Form):
    serial = SerialField()


class CloudUnlockForm(CloudSerialForm):
    verifier = Base64Field(max_bytes=64)


class CloudPinForm(CloudSerialForm):
    verifier = Base64Field(max_bytes=64)
    new_verifier = Base64Field(max_bytes=64)
    new_verifier_salt = Base64Field(max_bytes=64)
    new_wrap_salt = Base64Field(max_bytes=64)
    wrapped_key = Base64Field(max_bytes=8192)


# --- 인증서 복사 (certificates.views.copy) ------------------------------------------------------

EC_POINT_BYTES = 65  # an uncompressed P-256 point


class CopyForm(forms.Form):
    """A copy session's token; malformed fields answer with 인증서 복사's own refusals."""

    token = ChallengeTokenField()
    refusals: dict = {"token": CopyRefusal.NOT_FOUND}  # a malformed token is one no copy has

    def refusal(self):
        field = next(iter(self.errors), None)
        return CopyRefused(self.refusals.get(field, CopyRefusal.MALFORMED_REQUEST))


class CopyOpenForm(CopyForm):
    receiver_commitment = Base64Field(max_bytes=64)
    refusals = {**CopyForm.refusals, "receiver_commitment": CopyRefusal.BAD_COMMITMENT}


class CopyRevealForm(CopyForm):
    receiver_public_key = Base64Field(max_bytes=EC_POINT_BYTES)
    refusals = {**CopyForm.refusals, "receiver_public_key": CopyRefusal.BAD_PUBLIC_KEY}


class CopyJoinForm(CopyForm):
    sender_public_key = Base64Field(max_bytes=EC_POINT_BYTES)
    refusals = {**CopyForm.refusals, "sender_public_key": CopyRefusal.BAD_PUBLIC_KEY}


class CopyFindForm(CopyForm):
    number = forms.CharField(max_length=32, required=False, strip=True)
    refusals = {**CopyForm.refusals, "number": CopyRefusal.BAD_NUMBER}


class CopyUploadForm(CopyForm):
    refusals = {**CopyForm.refusals, "ciphertext": CopyRefusal.BAD_CIPHERTEXT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Twice the cap, so that an oversized blob gets the service's own answer.
        self.fields["ciphertext"] = Base64Field(max_bytes=2 * settings.CERTBANK_COPY_MAX_CIPHERTEXT)
