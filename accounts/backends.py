"""Authentication backends.

Customers log in at a bank with (bank, login ID, password); certificate
login will be another backend. Staff log in to /staff/ by username. Each
backend answers only for its own kind of user: never "any user whose
password matches".
"""

from django.contrib.auth.backends import ModelBackend

from accounts import services
from accounts.models import Customer


class BankPasswordBackend(ModelBackend):
    """authenticate(request, bank=..., login_id=..., password=...).

    Raises the domain errors of `services.password_login` (locked, wrong
    password with tries left) so the login form can say which; Django's
    `authenticate` passes them through to the caller.
    """

    def authenticate(self, request, bank=None, login_id=None, password=None, **kwargs):
        if bank is None or login_id is None or password is None:
            return None
        return services.password_login(bank=bank, login_id=login_id, password=password, request=request)

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.signup_completed_at is not None


class StaffBackend(ModelBackend):
    """Username and password for staff accounts only, with the same lockout.

    A right password is only the first factor: success is recorded by the
    staff login form once the TOTP code is checked too (bank/admin_site.py).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = Customer.objects.filter(username=username, is_staff=True, bank__isnull=True).first()
        if user is None or not user.is_active:
            services.password_check_dummy(password)
            return None
        if user.login_locked:
            return None
        if not user.check_password(password):
            services.login_attempt_failed(customer=user, request=request)
            return None
        return user

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.is_staff
