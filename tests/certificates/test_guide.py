"""인증서 안내: the comparison and the FAQ, each answer linking to the page that does it."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_guide_compares_both_kinds_and_links_every_answer(client, banks):
    page = client.get("/nuri/certificates/guide/")
    assert page.status_code == 200
    html = page.content.decode()
    for fact in ["1년", "3년", "6자리 PIN", "자동 갱신", "타행/타기관 인증서 등록"]:
        assert fact in html
    answers = re.findall(r'<details class="faq__item">(.*?)</details>', html, re.S)
    assert len(answers) == 7
    for answer in answers:
        assert re.search(r'href="/nuri/[^"]+"', answer), answer
    # Every link is a real page of this bank.
    for name in ["issue", "manage", "register", "cloud_devices", "copy_receive", "copy_send"]:
        assert reverse(f"certificates:{name}", kwargs={"bank": "nuri"}) in html


def test_issuance_page_links_to_the_guide_where_the_kind_is_chosen(logged_in_client):
    html = logged_in_client.get("/nuri/certificates/issue/").content.decode()
    assert 'name="kind"' in html and "/nuri/certificates/guide/" in html
