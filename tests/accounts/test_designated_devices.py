"""단말기 지정: up to five browsers per customer, added with an SMS code."""

import pytest

from accounts.device import DEVICE_COOKIE, device_digest
from accounts.models import DesignatedDevice
from audit.models import AuditEvent


def send_code(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/nuri/devices/", {"action": "send"})


def test_designate_this_browser_with_the_sms_code(logged_in_client, customer, sms_code, django_capture_on_commit_callbacks):
    send_code(logged_in_client, django_capture_on_commit_callbacks)
    response = logged_in_client.post("/nuri/devices/", {"action": "designate", "name": "집 PC", "code": sms_code()})
    assert response.status_code == 302
    device = DesignatedDevice.objects.get(customer=customer)
    token = logged_in_client.cookies[DEVICE_COOKIE].value
    assert device.token_digest == device_digest(token) and device.name == "집 PC"
    assert AuditEvent.objects.filter(action="device_designated").exists()
    html = logged_in_client.get("/nuri/devices/").content.decode()
    assert "집 PC" in html and "지금 쓰는 단말기" in html


def test_a_wrong_code_designates_nothing(logged_in_client, customer, sms_code, django_capture_on_commit_callbacks):
    send_code(logged_in_client, django_capture_on_commit_callbacks)
    wrong = "000000" if sms_code() != "000000" else "111111"
    response = logged_in_client.post("/nuri/devices/", {"action": "designate", "name": "x", "code": wrong})
    assert response.status_code == 200 and "인증번호가 올바르지 않습니다" in response.content.decode()
    assert not DesignatedDevice.objects.exists()


def test_at_most_five_devices(logged_in_client, customer, sms_code, django_capture_on_commit_callbacks):
    for n in range(5):
        DesignatedDevice.objects.create(customer=customer, token_digest=device_digest(f"{n:043d}"), name=f"PC {n}")
    send_code(logged_in_client, django_capture_on_commit_callbacks)
    response = logged_in_client.post("/nuri/devices/", {"action": "designate", "name": "6번째", "code": sms_code()})
    assert "5대까지" in response.content.decode()
    assert DesignatedDevice.objects.filter(customer=customer).count() == 5


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
