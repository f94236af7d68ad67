import io

import qrcode
from django.core.management.base import BaseCommand

from certificates import demo as certificate_demo
from flows import demo


class Command(BaseCommand):
    help = "Create the demo banks, customers and staff member (idempotent)."

    def handle(self, *args, **options):
        banks, customers, staff, device = demo.seed_all()
        self.stdout.write(self.style.SUCCESS("데모 데이터 준비 완료 (demo data ready)"))
        for bank in banks.values():
            self.stdout.write(f"  {bank.code} {bank.name_ko} ({bank.name_en})  http://127.0.0.1:8000/{bank.slug}/")
        for customer in customers:
            self.stdout.write(
                f"  {customer.bank.name_ko:6} ID {customer.login_id:10} 비밀번호 {demo.DEMO_PASSWORD}  "
                f"계좌 비밀번호 {demo.DEMO_PIN}  ({customer.name})"
            )
        bank_code, login_id = certificate_demo.DEMO_CERT_LOGIN
        holder = next(c for c in customers if c.bank.code == bank_code and c.login_id == login_id)
        certificate, folder = demo.seed_demo_certificate(holder)
        self.stdout.write(f"  공동인증서 ({holder.name}, {holder.bank.name_ko}): {folder}")
        self.stdout.write(f"    인증서 비밀번호 {certificate_demo.DEMO_CERT_PASSWORD}  일련번호 {certificate.serial}")
        self.stdout.write(f"    python manage.py certificate_login '{folder}' --bank {holder.bank.slug}")
        self.stdout.write(f"  직원 콘솔 http://127.0.0.1:8000/staff/  ID {demo.STAFF_USERNAME}  비밀번호 {demo.STAFF_PASSWORD}")
        self.stdout.write("  직원 OTP (add to an authenticator app):")
        self.stdout.write(f"  {device.config_url}")
        qr = qrcode.QRCode(border=1)
        qr.add_data(device.config_url)
        buffer = io.StringIO()
        qr.print_ascii(out=buffer, invert=True)
        self.stdout.write(buffer.getvalue())
        for role, (member, member_device) in zip(demo.STAFF_ROLES, demo.seed_staff_roles(), strict=True):
            self.stdout.write(f"  {role.group}  ID {member.username}  비밀번호 {role.password}")
            self.stdout.write(f"  {member_device.config_url}")
