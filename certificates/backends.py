"""Certificate login as a Django authentication backend, so that
django.contrib.auth.login() rotates the session and the CSRF token."""

from django.contrib.auth.backends import ModelBackend

from certificates.login import certificate_login


class CertificateBackend(ModelBackend):
    """authenticate(request, bank=..., certificate=DER, signature=..., challenge=token).

    Raises certificates.exceptions.CertificateRefused with the reason, which
    Django's authenticate() passes through to the view.
    """

    def authenticate(self, request, bank=None, certificate=None, signature=None, challenge=None, **kwargs):
        if bank is None or certificate is None or signature is None or challenge is None:
            return None
        customer = certificate_login(
            bank=bank,
            session_key=request.session.session_key or "",
            token=challenge,
            certificate_der=certificate,
            signature=signature,
            request=request,
        )
        # Honoured here and by get_user() on every later request of the session.
        return customer if self.user_can_authenticate(customer) else None

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and user.signup_completed_at is not None and not user.is_staff
