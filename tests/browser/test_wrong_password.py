"""A wrong password is refused in Korean, with the tries left before the lock."""

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def submit_login(page, login_id, password):
    page.get_by_label("아이디", exact=True).fill(login_id)
    page.get_by_label("비밀번호", exact=True).fill(password)
    page.get_by_role("button", name="로그인", exact=True).click()


def test_wrong_password_shows_remaining_tries(page, customer):
    page.goto("/nuri/login/")

    submit_login(page, "hong", "wrong-" + PASSWORD)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("아이디 또는 비밀번호가 올바르지 않습니다. 4회 더 틀리면 로그인이 잠깁니다.")
    expect(page).to_have_url(re.compile(r"/nuri/login/$"))
    # The password is not sent back; the ID is kept.
    expect(page.get_by_label("비밀번호", exact=True)).to_have_value("")
    expect(page.get_by_label("아이디", exact=True)).to_have_value("hong")

    submit_login(page, "hong", "still-wrong")
    expect(alert).to_have_text("아이디 또는 비밀번호가 올바르지 않습니다. 3회 더 틀리면 로그인이 잠깁니다.")

    # An unknown ID gets the same words but no count (nothing to lock).
    submit_login(page, "nobody", "whatever")
    expect(alert).to_have_text("아이디 또는 비밀번호가 올바르지 않습니다.")

    # The right password still works and resets the count.
    submit_login(page, "hong", PASSWORD)
    expect(page).to_have_url(re.compile(r"/nuri/accounts/$"))
