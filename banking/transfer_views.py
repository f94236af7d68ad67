"""계좌이체 pages: form → 수취인 조회 → review (the exact text to sign) → the
certificate window signs it → receipt (이체확인증) with downloadable evidence.

The draft the customer entered lives in the session; each review page makes
a new challenge whose bytes are that draft's review text, and remembers the
draft under the challenge's token, so what is paid is what was shown and
signed (flows.transfers.transfer_signed checks it again).
"""

import base64

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.decorators import customer_required
from bank.http import json_endpoint, json_error, json_login_required
from banking import selectors, services
from banking.exceptions import RecipientLookupThrottled
from banking.forms import RecipientLookupForm, TransferApprovalForm, TransferForm
from banking.models import Transfer
from banking.services import TransferDraft
from certificates import evidence
from core.errors import DomainError
from core.models import Bank
from flows import transfers

DRAFT_KEY = "transfer_draft"
PENDING_KEY = "transfer_pending"  # challenge token → the draft it shows
PENDING_KEEP = 5


def _form(request, data=None, initial=None):
    accounts = list(selectors.customer_accounts(customer=request.user, bank=request.bank))
    return TransferForm(data, initial=initial, accounts=accounts, banks=Bank.objects.all()), accounts


@customer_required
def transfer_form_view(request):
    """Step 1: 출금계좌, 입금은행·계좌, 금액, 메모; 수취인 조회 on submit."""
    initial = {"to_bank": request.bank.code}
    saved = request.session.get(DRAFT_KEY)
    if request.method == "GET" and saved and request.GET.get("edit"):
        initial.update({k: saved[k] for k in ("to_number", "amount", "memo_mine", "memo_theirs")})
        initial.update(from_account=saved["from_account_id"], to_bank=saved["to_bank_code"])
    form, accounts = _form(request, request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft = TransferDraft(
            from_account_id=data["from_account"],
            to_bank_code=data["to_bank"],
            to_number=data["to_number"],
            amount=data["amount"],
            memo_mine=data["memo_mine"],
            memo_theirs=data["memo_theirs"],
            at=timezone.now(),
        )
        try:
            services.transfer_draft_check(customer=request.user, draft=draft, request=request)
        except DomainError as exc:
            form.add_error(None, exc.message)
            if isinstance(exc, RecipientLookupThrottled):
                status = 429
        else:
            request.session[DRAFT_KEY] = draft.as_session()
            return redirect("banking:transfer_review", bank=request.bank.slug)
    once, day = services.transfer_limits(customer=request.user)
    today = services.transferred_today(customer=request.user)
    context = {
        "form": form,
        "accounts": accounts,
        "limit_once": once,
        "limit_day": day,
        "remaining_today": max(0, day - today),
        "favourites": selectors.favourite_recipients(customer=request.user),
        "recent": selectors.recent_recipients(customer=request.user),
        "fee_other_bank": settings.CERTBANK_TRANSFER_FEE_OTHER_BANK,
        "sms_threshold": settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD,
    }
    return render(request, "banking/transfer_form.html", context, status=status)


@require_POST
@json_login_required
def transfer_recipient_view(request):
    """수취인 조회 from the form: the masked name of the receiving account."""
    form = RecipientLookupForm(request.POST)
    # SECURITY: the shape first (3 digits, account-number digits): a crafted
    # value (a NUL byte, letters) is a 400 and never reaches a query.
    if not form.is_valid():
        return json_error(form.first_error(), status=400, code="malformed")
    try:
        account = services.recipient_find(
            customer=request.user, bank_code=form.cleaned_data["bank"], number=form.cleaned_data["number"], request=request
        )
    except RecipientLookupThrottled as exc:
        response = json_error(exc.message, status=429, code="throttled")
        response["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError as exc:
        return json_error(exc.message, status=404, code="not_found")
    return JsonResponse(
        {"name": services.mask_name(account.owner.name), "bank": account.bank.name, "number": account.display_number}
    )


def _draft(request) -> TransferDraft | None:
    saved = request.session.get(DRAFT_KEY)
    try:
        return TransferDraft.from_session(saved) if saved else None
    except (TypeError, ValueError, KeyError):
        return None


@customer_required
@sensitive_post_parameters("code")
def transfer_review_view(request):
    """Step 2: the exact text to be signed, the OTP / SMS fields it needs."""
    draft = _draft(request)
    if draft is None:
        messages.info(request, _("이체 정보를 먼저 입력해 주세요."))
        return redirect("banking:transfer", bank=request.bank.slug)
    if request.method == "POST" and request.POST.get("action") == "send_sms":
        try:
            account_services.sms_code_send(
                customer=request.user, reason="이체 추가 인증", bind=transfers.SMS_BIND, request=request
            )
            messages.success(request, _("인증번호를 보냈습니다."))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("banking:transfer_review", bank=request.bank.slug)
    # The 일시 on the text is when the customer reviews it.
    draft = TransferDraft(**{**draft.__dict__, "at": timezone.now()})
    if not request.session.session_key:
        request.session.create()  # INSERTed by the request's one save (bank.sessions)
    try:
        from_account, to_account, fee = services.transfer_draft_resolve(customer=request.user, draft=draft)
        challenge = transfers.transfer_challenge_create(
            customer=request.user, bank=request.bank, session_key=request.session.session_key, draft=draft
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("banking:transfer", bank=request.bank.slug)
    pending = dict(list((request.session.get(PENDING_KEY) or {}).items())[-(PENDING_KEEP - 1) :])
    pending[challenge.token] = draft.as_session()
    request.session[PENDING_KEY] = pending
    needs = services.transfer_requirements(
        customer=request.user, amount=draft.amount, device_token=getattr(request, "device_token", "")
    )
    context = {
        "draft": draft,
        "from_account": from_account,
        "to_account": to_account,
        "recipient_name": services.mask_name(to_account.owner.name),
        "fee": fee,
        "total": draft.amount + fee,
        "challenge": challenge,
        "to_sign": bytes(challenge.to_sign).decode("utf-8"),
        "to_sign_b64": base64.b64encode(bytes(challenge.to_sign)).decode("ascii"),
        "needs": needs,
        "otp_threshold": settings.CERTBANK_TRANSFER_OTP_THRESHOLD,
        "sms_threshold": settings.CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD,
        "phone": request.user.masked_phone,
        "expires_seconds": settings.CERTBANK_CHALLENGE_SECONDS,
    }
    return render(request, "banking/transfer_review.html", context)


@json_login_required
@sensitive_post_parameters("otp_code", "sms_code")
@json_endpoint(TransferApprovalForm)
def transfer_sign_view(request, data):
    """Step 3 (from the certificate window): pay, once, what was signed."""
    saved = (request.session.get(PENDING_KEY) or {}).get(data["challenge"])
    # SECURITY: the draft paid is the one this session reviewed under this
    # challenge; a token from anywhere else has no draft here.
    if saved is None:
        return json_error(_("이체 확인 화면이 만료되었습니다. 처음부터 다시 진행해 주세요."), status=403, code="no_draft")
    record, _replayed = transfers.transfer_signed(
        customer=request.user,
        bank=request.bank,
        draft=TransferDraft.from_session(saved),
        session_key=request.session.session_key or "",
        token=data["challenge"],
        certificate_der=data["certificate"],
        signature=data["signature"],
        otp_code=data["otp_code"],
        sms_code=data["sms_code"],
        device_token=getattr(request, "device_token", ""),
        request=request,
    )
    request.session.pop(DRAFT_KEY, None)
    url = reverse("banking:transfer_receipt", kwargs={"bank": request.bank.slug, "reference": record.reference})
    return {"redirect": url, "reference": str(record.reference)}


def _own_transfer(request, reference) -> Transfer:
    # SECURITY: only the sender's own transfers at this bank; anything else is a 404.
    return get_object_or_404(
        Transfer.objects.select_related("from_account__bank", "to_account__bank", "to_bank", "signer_certificate"),
        reference=reference,
        customer=request.user,
        from_account__bank=request.bank,
    )


@customer_required
def transfer_receipt_view(request, reference):
    record = _own_transfer(request, reference)
    context = {
        "transfer": record,
        "public_url": settings.CERTBANK_PUBLIC_URL.rstrip("/"),
        "is_favourite": selectors.favourite_recipients(customer=request.user).filter(account=record.to_account).exists(),
    }
    return render(request, "banking/transfer_receipt.html", context)


@customer_required
def transfer_evidence_view(request, reference):
    """The receipt's evidence: CMS SignedData that `openssl cms -verify` checks
    (a PKCS#1 v1.5 or an RSASSA-PSS SignerInfo, as the customer signed)."""
    record = _own_transfer(request, reference)
    if not record.signed:
        raise Http404()
    try:
        p7s = evidence.signed_data(
            content=bytes(record.signed_bytes),
            signature=bytes(record.signature),
            certificate_der=bytes(record.signer_certificate.der),
            scheme=record.signature_scheme,
        )
    except evidence.EvidenceUnavailable:
        raise Http404() from None
    response = HttpResponse(p7s, content_type="application/pkcs7-signature")
    response["Content-Disposition"] = f'attachment; filename="transfer-{record.reference}.p7s"'
    return response


@customer_required
def transfer_signed_text_view(request, reference):
    record = _own_transfer(request, reference)
    response = HttpResponse(bytes(record.signed_bytes), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transfer-{record.reference}.txt"'
    return response


@require_POST
@customer_required
def favourite_add_view(request, reference):
    record = _own_transfer(request, reference)
    # SECURITY: a crafted nickname loses its NUL bytes (PostgreSQL refuses them in text).
    nickname = request.POST.get("nickname", "").replace("\x00", "")
    services.favourite_add(customer=request.user, account=record.to_account, nickname=nickname, request=request)
    messages.success(request, _("자주 쓰는 계좌에 등록했습니다."))
    return redirect("banking:transfer_receipt", bank=request.bank.slug, reference=record.reference)


@require_POST
@customer_required
def favourite_remove_view(request, pk):
    if services.favourite_remove(customer=request.user, pk=pk, request=request):
        messages.success(request, _("자주 쓰는 계좌에서 삭제했습니다."))
    return redirect("banking:transfer", bank=request.bank.slug)
