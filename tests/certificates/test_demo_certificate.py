"""seed_demo gives 홍길동 a ready 공동인증서; the command-line client logs in with it."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from certificates import demo
from certificates.client import npki
from certificates.models import Certificate

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_demo_issues_key_files_once_and_they_log_in(test_ca, live_server, capsys):
    call_command("seed_demo")
    first = Certificate.objects.get()
    call_command("seed_demo")  # idempotent: the same certificate, the same files
    assert Certificate.objects.get() == first
    folder = demo.demo_npki_root() / npki.npki_folder_path(bytes(first.der))
    assert folder.is_relative_to(demo.demo_npki_root() / "NPKI" / "CertbankCA" / "USER")
    pair = npki.load_key_pair(folder, demo.DEMO_CERT_PASSWORD)
    assert pair.certificate_der == bytes(first.der)
    capsys.readouterr()
    call_command(
        "certificate_login", str(folder), "--bank", "nuri", "--url", live_server.url, "--password", demo.DEMO_CERT_PASSWORD
    )
    assert "로그인 성공" in capsys.readouterr().out


def test_certificate_login_command_reports_a_wrong_password(test_ca, live_server):
    call_command("seed_demo")
    folder = demo.demo_npki_root() / npki.npki_folder_path(bytes(Certificate.objects.get().der))
    with pytest.raises(CommandError, match="비밀번호가 올바르지 않습니다"):
        call_command("certificate_login", str(folder), "--url", live_server.url, "--password", "Wrong#password1")
