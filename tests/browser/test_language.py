"""The footer language menu switches the whole page."""

import re

from playwright.sync_api import expect

# The label is "언어" in Korean; in English it may or may not be translated yet.
LANGUAGE_LABEL = re.compile(r"^(언어|Language)$")


def test_switch_to_english_and_back(page, banks, live_server):
    page.goto("/nuri/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ko")
    expect(page.get_by_label(LANGUAGE_LABEL)).to_have_value("ko")

    # Choosing a language submits the form at once (no button press).
    with page.expect_navigation(url=f"{live_server.url}/nuri/"):
        page.get_by_label(LANGUAGE_LABEL).select_option("en")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_label(LANGUAGE_LABEL)).to_have_value("en")
    expect(page.get_by_role("button", name=re.compile(r"^(로그인|Log ?in|Sign in)$", re.I))).to_be_visible()

    # The choice sticks for the next page.
    page.goto("/")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name=re.compile("누리은행|Nuri Bank"))).to_be_visible()

    with page.expect_navigation(url=f"{live_server.url}/"):
        page.get_by_label(LANGUAGE_LABEL).select_option("ko")
    expect(html).to_have_attribute("lang", "ko")
    expect(page.get_by_role("link", name=re.compile("누리은행"))).to_be_visible()
