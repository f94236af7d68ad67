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
        customer = services.password_login(bank=bank, login_id=login_id, password=password, request=request)
        # password_login already refuses inactive and unfinished sign-ups; get_user re-checks every request.
        return customer if self.user_can_authenticate(customer) else None

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.signup_completed_at is not None


class StaffBackend(ModelBackend):
    """Username and password for staff accounts only.

    A right password is only the first factor: the staff login form checks
    the TOTP code too and counts any failure as one, with back-off per
    network and name, never a lock (bank/admin_site.py).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = Customer.objects.filter(username=username, is_staff=True, bank__isnull=True).first()
        if user is None or not self.user_can_authenticate(user):
            services.password_check_dummy(password)
            return None
        if not user.check_password(password):
            return None
        return user

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.is_staff
