import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from certificates.client import npki
from certificates.client.protocol import CertbankClient, ProtocolError


class Command(BaseCommand):
    help = "Log in to a bank with NPKI key files (signCert.der + signPri.key), as the browser does."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="folder holding signCert.der and signPri.key")
        parser.add_argument("--bank", default="nuri", help="bank slug (default nuri)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="site address")
        parser.add_argument("--password", help="certificate password (asked for when omitted)")

    def handle(self, *args, folder, bank, url, password, **options):
        password = password or getpass.getpass("인증서 비밀번호: ")
        try:
            pair = npki.load_key_pair(folder, password)
        except npki.WrongPassword:
            raise CommandError("인증서 비밀번호가 올바르지 않습니다.") from None
        except (npki.KeyFileError, OSError) as exc:
            raise CommandError(f"인증서 파일을 읽을 수 없습니다: {exc}") from None
        client = CertbankClient(url, bank)
        try:
            landing = client.login_with_certificate(pair.certificate_der, pair.private_key)
        except ProtocolError as exc:
            raise CommandError(exc.message or str(exc)) from None
        page = client.get(landing.split(f"/{bank}/", 1)[-1])
        self.stdout.write(self.style.SUCCESS(f"로그인 성공: {url}{landing} ({page.status})"))
