"""Secrets a browser posts (PIN verifiers, wrapped keys, the VID random R)
are masked in Django's error reports: a 500 e-mail or log never carries them.

A PIN verifier with its (public) salt gives the PIN back after at most 10^6
PBKDF2 runs, and R with the RRN proves identity: neither may leak that way."""

import pytest
from django.views.debug import SafeExceptionReporterFilter

SECRET = "c2VjcmV0"  # any base64; the views refuse it, the filter must mask it first


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/nuri/certificates/cloud/unlock/", ["verifier"]),
        ("/nuri/certificates/cloud/pin/", ["verifier", "new_verifier", "wrapped_key"]),
        ("/nuri/certificates/cloud/renew/complete/", ["r", "old_verifier", "verifier", "wrapped_key"]),
        ("/nuri/certificates/issue/complete/", ["r", "verifier", "wrapped_key"]),
        ("/nuri/certificates/renew/complete/", ["r"]),
        ("/nuri/certificates/register/complete/", ["r"]),
    ],
)
def test_posted_secrets_are_masked_in_error_reports(logged_in_client, url, fields):
    response = logged_in_client.post(url, {**{name: SECRET for name in fields}, "serial": "abc"})
    assert response.status_code < 500
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    for name in fields:
        assert shown[name] != SECRET, name
    assert shown["serial"] == "abc"
