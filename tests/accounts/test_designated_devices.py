"""단말기 지정: up to five browsers per customer (accounts.designation), designated
on the step-up page /nuri/devices/designate/ with the login and an SMS code (DESIGNATE)."""

import pytest
from django.contrib.messages import get_messages

from accounts import designation
from accounts.device import DEVICE_COOKIE, device_digest
from accounts.exceptions import DeviceLimitReached, VerificationRequired
from accounts.models import DesignatedDevice, VerificationGrant
from audit.models import AuditEvent
from core.models import SmsMessage
from flows import stepup
from tests.verification import SESSION, Purpose, sms_code_of, verified, web_verify_by_sms

DESIGNATE = "/nuri/devices/designate/"
DEVICE_TOKEN = "D" * 43


def page_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_devices_page_lists_the_devices_and_links_to_the_designation(logged_in_client, customer):
    DesignatedDevice.objects.create(customer=customer, token_digest="a" * 64, name="회사 노트북")
    html = logged_in_client.get("/nuri/devices/").content.decode()
    assert "회사 노트북" in html
    assert f'href="{DESIGNATE}"' in html


def test_designation_needs_a_login(client, banks):
    response = client.get(DESIGNATE)
    assert response.status_code == 302
    assert response["Location"].startswith("/nuri/login/")


def test_designate_this_browser_with_the_sms_code(logged_in_client, customer, django_capture_on_commit_callbacks):
    page = logged_in_client.get(DESIGNATE).content.decode()
    assert 'name="step" value="send"' in page and 'name="name"' in page  # the login is the first factor: no 본인확인
    with django_capture_on_commit_callbacks(execute=True):
        response = web_verify_by_sms(logged_in_client, DESIGNATE, customer, detail={"name": "집 PC"})
    code_sms, notice = SmsMessage.objects.filter(phone=customer.phone).order_by("pk")
    assert "단말기 지정 인증번호" in code_sms.body
    assert "'집 PC'이(가) 지정되었습니다" in notice.body  # the customer is told, as banks do
    assert response.status_code == 302
    assert response["Location"] == "/nuri/devices/"
    assert page_messages(response)[-1] == "이 단말기를 지정했습니다."
    device = DesignatedDevice.objects.get(customer=customer)
    token = logged_in_client.cookies[DEVICE_COOKIE].value
    assert device.token_digest == device_digest(token) and device.name == "집 PC"
    grant = VerificationGrant.objects.get(customer=customer, purpose=Purpose.DESIGNATE)
    assert grant.consumed_at is not None  # the designation used the verification
    assert "grant:designate" not in logged_in_client.session
    assert AuditEvent.objects.filter(action="device_designated", customer=customer).exists()
    html = logged_in_client.get("/nuri/devices/").content.decode()
    assert "집 PC" in html and "지금 쓰는 단말기" in html


def test_a_wrong_code_designates_nothing(logged_in_client, customer):
    assert logged_in_client.post(DESIGNATE, {"step": "send", "name": "x"}).status_code == 302
    code = sms_code_of(customer)
    wrong = "000000" if code != "000000" else "111111"
    response = logged_in_client.post(DESIGNATE, {"step": "sms", "code": wrong})
    assert response.status_code == 403
    assert "인증번호가 올바르지 않습니다" in response.content.decode()
    assert not DesignatedDevice.objects.exists()
    grant = VerificationGrant.objects.get(customer=customer, purpose=Purpose.DESIGNATE)
    assert grant.sms_at is None and grant.consumed_at is None
    # The right code after the mistyped one designates at once.
    assert logged_in_client.post(DESIGNATE, {"step": "sms", "code": code})["Location"] == "/nuri/devices/"
    assert DesignatedDevice.objects.filter(customer=customer, name="x").exists()


def test_at_most_five_devices(logged_in_client, customer):
    for n in range(5):
        DesignatedDevice.objects.create(customer=customer, token_digest=device_digest(f"{n:043d}"), name=f"PC {n}")
    response = web_verify_by_sms(logged_in_client, DESIGNATE, customer, detail={"name": "6번째"})
    assert response["Location"] == "/nuri/devices/"
    assert page_messages(response)[-1] == "단말기는 5대까지 지정할 수 있습니다. 쓰지 않는 단말기를 먼저 해제해 주세요."
    assert "이 단말기를 지정했습니다." not in page_messages(response)
    assert DesignatedDevice.objects.filter(customer=customer).count() == 5
    assert not DesignatedDevice.objects.filter(name="6번째").exists()
    # The refusal rolled the use of the verification back with the rest.
    assert VerificationGrant.objects.get(customer=customer, purpose=Purpose.DESIGNATE).consumed_at is None


def test_device_designate_consumes_a_finished_grant_once(customer):
    token = verified(customer, Purpose.DESIGNATE)
    device = designation.device_designate(
        customer=customer, grant=token, session_key=SESSION, device_token=DEVICE_TOKEN, name="집 PC"
    )
    assert device.token_digest == device_digest(DEVICE_TOKEN)
    with pytest.raises(VerificationRequired):
        designation.device_designate(customer=customer, grant=token, session_key=SESSION, device_token="E" * 43, name="또 하나")
    assert DesignatedDevice.objects.filter(customer=customer).count() == 1


def test_device_designate_refuses_without_the_sms_code(customer):
    # SECURITY: the login alone opens the grant, but only the SMS code finishes it.
    grant = stepup.stepup_start_session(purpose=Purpose.DESIGNATE, customer=customer, session_key=SESSION)
    with pytest.raises(VerificationRequired):
        designation.device_designate(
            customer=customer, grant=grant.token, session_key=SESSION, device_token=DEVICE_TOKEN, name="x"
        )
    assert not DesignatedDevice.objects.exists()


def test_device_designate_refuses_another_customers_grant(customer, younghee):
    token = verified(younghee, Purpose.DESIGNATE)
    with pytest.raises(VerificationRequired):
        designation.device_designate(customer=customer, grant=token, session_key=SESSION, device_token=DEVICE_TOKEN, name="x")
    assert not DesignatedDevice.objects.exists()


def test_device_designate_refuses_a_sixth_device(customer):
    for n in range(5):
        DesignatedDevice.objects.create(customer=customer, token_digest=device_digest(f"{n:043d}"), name=f"PC {n}")
    with pytest.raises(DeviceLimitReached) as excinfo:
        designation.device_designate(
            customer=customer,
            grant=verified(customer, Purpose.DESIGNATE),
            session_key=SESSION,
            device_token=DEVICE_TOKEN,
            name="x",
        )
    assert excinfo.value.status == 409
    assert "5대까지" in str(excinfo.value.message)


def test_release_only_own_devices(logged_in_client, customer, younghee):
    mine = DesignatedDevice.objects.create(customer=customer, token_digest="a" * 64, name="내 PC")
    theirs = DesignatedDevice.objects.create(customer=younghee, token_digest="b" * 64, name="남의 PC")
    # SECURITY: another customer's device id releases nothing.
    logged_in_client.post(f"/nuri/devices/{theirs.pk}/release/")
    assert DesignatedDevice.objects.filter(pk=theirs.pk).exists()
    logged_in_client.post(f"/nuri/devices/{mine.pk}/release/")
    assert not DesignatedDevice.objects.filter(pk=mine.pk).exists()
    assert logged_in_client.get(f"/nuri/devices/{mine.pk}/release/").status_code == 405


@pytest.fixture
def younghee(make_customer):
    return make_customer(login_id="younghee", name="김영희", rrn="920315-2345674", phone="01023456789")
