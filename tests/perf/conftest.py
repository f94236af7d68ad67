"""The requests measured here are the certificate and banking suites' own."""

from tests.banking.conftest import chulsoo  # noqa: F401
from tests.certificates.conftest import holder, rsa_keys  # noqa: F401
