"""The fuzzer's judge (tests/fuzz/cases.py) catches what it is there to catch:
a fuzz run that passes must mean something."""

import json
from types import SimpleNamespace

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from banking.models import DepositAccount, FavouriteRecipient
from tests.fuzz import cases
from tests.fuzz.strategies import Case, ocsp_request

pytestmark = pytest.mark.django_db


def answer(response):
    """A response as the test client returns it (with the request it answered)."""
    response.wsgi_request = RequestFactory().get("/")
    return response


def judge(response, *, actor="hong", before=None, world=None):
    world = world or SimpleNamespace(person={"hong": "p-hong"}, person_of_customer={})
    before = before or cases.snapshot()
    cases._judge(world, Case(actor, "POST", "/x/"), answer(response), before, 0)


def test_a_server_error_fails(banks):
    with pytest.raises(AssertionError, match="server error"):
        judge(HttpResponse("boom", status=500))


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse("Bad Request", status=400, content_type="text/plain"),
        JsonResponse({"error": "malformed"}, status=400),
        JsonResponse({"code": "x"}, status=403),
        HttpResponse("<title>Error</title><h1>Bad request</h1>", status=400),
        HttpResponse(b"", status=405),
    ],
)
def test_a_refusal_without_a_korean_message_fails(banks, response):
    with pytest.raises(AssertionError, match="Korean message"):
        judge(response)


@pytest.mark.parametrize(
    "response",
    [
        JsonResponse({"error": "요청 형식이 올바르지 않습니다."}, status=400),
        HttpResponse("<title>잘못된 요청</title>", status=400),
        HttpResponse('<form><p class="field__error" role="alert">6자리 숫자를 입력해 주세요.</p></form>', status=400),
        HttpResponse("주민등록번호를 확인해 주세요.", status=400, content_type="text/plain; charset=utf-8"),
        HttpResponse(status=302, headers={"Location": "/nuri/login/?next=/nuri/accounts/"}),
    ],
)
def test_a_refusal_with_a_korean_message_passes(banks, response):
    judge(response)


def test_hidden_error_containers_are_not_refusals():
    page = answer(HttpResponse('<div class="form-errors" role="alert" data-copy-error hidden></div><h1>인증서 가져오기</h1>'))
    assert not cases.is_refusal(page)
    shown = answer(HttpResponse('<div class="form-errors" role="alert"><p>비밀번호가 서로 다릅니다.</p></div>'))
    assert cases.is_refusal(shown)


def test_a_refusal_that_adds_a_row_fails_but_an_audit_row_is_allowed(customer, make_customer):
    from audit.models import Action
    from audit.services import audit_record

    other = make_customer(bank_code="903", login_id="chulsoo", name="이철수", rrn="850720-1456782", phone="01034567890")
    before = cases.snapshot()
    audit_record(action=Action.LOGIN_FAILED, customer=customer)
    judge(JsonResponse({"error": "거절"}, status=403), before=before)  # refusals are audited
    FavouriteRecipient.objects.create(customer=customer, account=other.deposit_accounts.get())
    with pytest.raises(AssertionError, match="a refusal changed row counts"):
        judge(JsonResponse({"error": "거절"}, status=403), before=before)


def test_money_that_moves_fails_whatever_the_answer(customer):
    before = cases.snapshot()
    DepositAccount.objects.filter(owner=customer).update(balance=1)
    with pytest.raises(AssertionError, match="balances changed"):
        judge(HttpResponse("<title>이체 완료</title>"), before=before)


def test_a_change_to_another_persons_rows_fails_even_as_a_success(customer, make_customer):
    other = make_customer(bank_code="903", login_id="chulsoo", name="이철수", rrn="850720-1456782", phone="01034567890")
    world = SimpleNamespace(
        person={"hong": customer.rrn_index}, person_of_customer={customer.pk: customer.rrn_index, other.pk: other.rrn_index}
    )
    before = cases.snapshot()
    FavouriteRecipient.objects.create(customer=other, account=customer.deposit_accounts.get())
    with pytest.raises(AssertionError, match="another person's rows"):
        judge(HttpResponse("<title>등록했습니다</title>"), before=before, world=world)
    # The same change to the actor's own rows is theirs to make.
    FavouriteRecipient.objects.filter(customer=other).delete()
    FavouriteRecipient.objects.create(customer=customer, account=other.deposit_accounts.get())
    judge(HttpResponse("<title>등록했습니다</title>"), before=before, world=world)


def test_the_ocsp_request_builder_writes_what_a_parser_reads():
    from cryptography.x509 import ocsp

    request = ocsp.load_der_ocsp_request(ocsp_request([12345], b"\x01" * 20, b"\x02" * 20, nonce=b"\x03" * 16))
    assert request.serial_number == 12345
    assert request.issuer_name_hash == b"\x01" * 20
    assert json.dumps(request.serial_number)


def test_what_the_fuzzer_typed_is_no_secret_but_what_the_server_made_stays_one():
    from tests.privacy import REGISTRY

    case = Case("anon", "POST", "/nuri/login/", "application/x-www-form-urlencoded", b"login_id=a&password=Fuzz%21typed99")
    with cases._fuzz_input_is_no_secret(case):
        REGISTRY.add("password", "Fuzz!typed99")  # the hasher saw what the fuzzer typed
        REGISTRY.add("SMS code", "Made-by-server-31")  # not in the request
    try:
        assert "Fuzz!typed99" not in REGISTRY.secrets
        assert "Made-by-server-31" in REGISTRY.secrets
    finally:
        REGISTRY.secrets.pop("Made-by-server-31", None)
