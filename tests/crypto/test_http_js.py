"""static/js/ui/http.js in Chromium: what a refusal carries to the page (the
bank's Korean message, its code, the HTTP status and Retry-After), what a
request carries to the bank (CSRF token, Accept: application/json, the
form), base64 both ways against Python's, and which redirects are followed.
Also the pure helpers of challenge-timer.js and countdown.js.

The static server's /__http__/ answers stand in for the bank's JSON
endpoints (tests/crypto/conftest.py HTTP_ANSWERS)."""

import base64
import os

import pytest

from tests.crypto.conftest import HTTP_ANSWERS

pytestmark = pytest.mark.browser

REFUSAL = """async ({ path, method }) => {
    const http = await import("/js/ui/http.js");
    try {
        await (method === "GET" ? http.getJson(path) : http.postForm(path, { serial: "ab12" }));
        return { thrown: false };
    } catch (error) {
        return {
            thrown: true,
            isRequestError: error instanceof http.RequestError,
            isError: error instanceof Error,
            message: error.message,
            code: error.code,
            status: error.status,
            retryAfter: error.retryAfter,
            errors: error.errors,
        };
    }
}"""


def test_a_429_surfaces_the_korean_message_code_status_and_retry_after(js):
    error = js(REFUSAL, {"path": "/__http__/throttled", "method": "POST"})
    assert error == {
        "thrown": True,
        "isRequestError": True,
        "isError": True,
        "message": HTTP_ANSWERS["throttled"][2]["error"],
        "code": "throttled",
        "status": 429,
        "retryAfter": 30,
        "errors": None,
    }


def test_a_refusal_without_retry_after_has_none(js):
    error = js(REFUSAL, {"path": "/__http__/refused", "method": "POST"})
    assert (error["message"], error["code"], error["status"], error["retryAfter"]) == (
        "PIN이 올바르지 않습니다. (1/5회 오류)",
        "wrong_pin",
        403,
        None,
    )


def test_a_step_up_form_error_keeps_its_field_errors(js):
    error = js(REFUSAL, {"path": "/__http__/form-errors", "method": "POST"})
    assert error["status"] == 400
    assert error["message"] == "주민등록번호 13자리를 입력해 주세요."
    assert error["errors"] == {"rrn": ["주민등록번호 13자리를 입력해 주세요."]}


def test_answers_that_are_not_json_get_a_korean_message_of_our_own(js):
    forbidden = js(REFUSAL, {"path": "/__http__/no-json-refusal", "method": "POST"})
    assert forbidden["status"] == 403 and forbidden["code"] == ""
    assert forbidden["message"] == "보안 확인에 실패했습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요."
    page = js(REFUSAL, {"path": "/__http__/html", "method": "POST"})
    assert page["thrown"] and page["status"] == 200
    assert page["message"] == "요청을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요."
    missing = js(REFUSAL, {"path": "/__http__/nothing-here", "method": "GET"})
    assert missing["status"] == 404 and missing["isRequestError"]


def test_no_answer_at_all_is_a_connection_error(js):
    error = js(REFUSAL, {"path": "http://127.0.0.1:1/unreachable", "method": "POST"})
    assert error["isRequestError"] and error["status"] == 0
    assert error["message"] == "서버에 연결할 수 없습니다. 네트워크를 확인한 뒤 다시 시도해 주세요."


def test_post_form_sends_the_csrf_token_accept_json_and_the_fields(js):
    sent = js(
        """async () => {
            const http = await import("/js/ui/http.js");
            document.cookie = "csrftoken=from-the-cookie; path=/";
            const byCookie = await http.postForm("/__http__/echo", { purpose: "login", skipped: null });
            const input = Object.assign(document.createElement("input"), {
                type: "hidden", name: "csrfmiddlewaretoken", value: "from-the-page" });
            const scope = document.createElement("div");
            scope.append(input);
            document.body.append(scope);
            const byInput = await http.postForm("/__http__/echo", { serial: "ab12" }, { root: scope });
            scope.remove();
            document.cookie = "csrftoken=; path=/; max-age=0";
            const state = await http.getJson("/__http__/state");
            return { byCookie, byInput, state };
        }"""
    )
    for answer in (sent["byCookie"], sent["byInput"]):
        assert answer["method"] == "POST"
        assert answer["accept"] == "application/json"
        assert answer["content_type"].startswith("multipart/form-data")
    assert sent["byCookie"]["csrf"] == "from-the-cookie"
    assert sent["byInput"]["csrf"] == "from-the-page"  # the page's token first
    assert 'name="purpose"\r\n\r\nlogin' in sent["byCookie"]["body"]
    assert 'name="skipped"' not in sent["byCookie"]["body"]
    assert 'name="serial"\r\n\r\nab12' in sent["byInput"]["body"]
    assert sent["state"] == HTTP_ANSWERS["state"][2]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 20, 32, 255, 0x8000 + 7, 100_000])
def test_base64_round_trip_matches_python(js, size):
    data = os.urandom(size)
    result = js(
        """async (hex) => {
            const http = await import("/js/ui/http.js");
            const bytes = fromHex(hex);
            const text = http.toBase64(bytes);
            return { text, back: toHex(http.fromBase64(text)), fromBuffer: http.toBase64(bytes.buffer),
                     fromView: http.toBase64(new DataView(bytes.buffer)) };
        }""",
        data.hex(),
    )
    assert result["text"] == base64.b64encode(data).decode("ascii")
    assert result["fromBuffer"] == result["fromView"] == result["text"]
    assert bytes.fromhex(result["back"]) == data


def test_from_base64_reads_url_safe_unpadded_and_wrapped_text(js):
    data = bytes(range(250, 256)) + b"\xfb\xff\xfe"
    forms = [
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        "\n".join(base64.b64encode(data).decode()[i : i + 4] for i in range(0, 12, 4)),
    ]
    decoded = js(
        """async (forms) => {
            const http = await import("/js/ui/http.js");
            return forms.map((text) => toHex(http.fromBase64(text)));
        }""",
        forms,
    )
    assert decoded == [data.hex()] * 3


def test_parse_retry_after_reads_seconds_and_http_dates(js):
    values = js(
        """async () => {
            const http = await import("/js/ui/http.js");
            const now = Date.parse("2026-03-01T00:00:00Z");
            return [
                http.parseRetryAfter("120", now),
                http.parseRetryAfter("Sun, 01 Mar 2026 00:01:30 GMT", now),
                http.parseRetryAfter("Sat, 28 Feb 2026 23:00:00 GMT", now),
                http.parseRetryAfter(null, now),
                http.parseRetryAfter("soon", now),
            ];
        }"""
    )
    assert values == [120, 90, 0, None, None]


def test_only_paths_of_this_site_are_followed(js):
    verdicts = js(
        """async (targets) => {
            const http = await import("/js/ui/http.js");
            return targets.map((target) => http.isSameSitePath(target));
        }""",
        ["/nuri/accounts/", "/", "//evil.example/", "/\\evil.example/", "https://evil.example/", "/\t/evil.example", "nuri/"],
    )
    assert verdicts == [True, True, False, False, False, False, False]


def test_challenge_deadline_trusts_the_bank_clock_unless_the_device_clock_is_plainly_off(js):
    deadlines = js(
        """async () => {
            const { challengeDeadline, challengeExpired, readChallenge } = await import("/js/ui/challenge-timer.js");
            const received = Date.parse("2026-03-01T00:00:05Z");
            const bank = "2026-03-01T09:02:00+09:00";  // 00:02:00Z, two minutes after the bank made it
            const answer = { challenge: "tok", to_sign: btoa("login 2026"), expires_at: bank, expires_in: 120 };
            return {
                inStep: challengeDeadline(bank, 120, received),
                fastDevice: challengeDeadline(bank, 120, received + 10 * 60 * 1000),
                slowDevice: challengeDeadline(bank, 120, received - 5 * 60 * 1000),
                noLifetime: challengeDeadline(bank, undefined, received),
                nothing: challengeDeadline(undefined, undefined, received),
                read: (({ token, toSign, expiresAt }) => ({ token, toSign: toHex(toSign), expiresAt }))(
                    readChallenge(answer, received)),
                expired: [
                    challengeExpired({ expiresAt: bank }, Date.parse(bank)),
                    challengeExpired({ expiresAt: bank }, Date.parse(bank) - 1),
                    challengeExpired({ expiresAt: null }),
                    challengeExpired(null),
                ],
            };
        }"""
    )
    assert deadlines["inStep"] == "2026-03-01T00:02:00.000Z"
    assert deadlines["fastDevice"] == "2026-03-01T00:12:05.000Z"  # ten minutes ahead: two minutes from its now
    assert deadlines["slowDevice"] == "2026-02-28T23:57:05.000Z"  # five minutes behind: two minutes from its now
    assert deadlines["noLifetime"] == "2026-03-01T00:02:00.000Z"
    assert deadlines["nothing"] is None
    assert deadlines["read"] == {"token": "tok", "toSign": b"login 2026".hex(), "expiresAt": "2026-03-01T00:02:00.000Z"}
    assert deadlines["expired"] == [True, False, False, True]


def test_format_clock(js):
    shown = js(
        """async (values) => {
            const { formatClock } = await import("/js/ui/countdown.js");
            return values.map(formatClock);
        }""",
        [0, 5, 59, 60, 119, 120, 180, -3, 61.9],
    )
    assert shown == ["0:00", "0:05", "0:59", "1:00", "1:59", "2:00", "3:00", "0:00", "1:01"]
