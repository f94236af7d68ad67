"""Test settings: the real settings with fixed keys and a fast password hasher."""

import os

os.environ.setdefault("CERTBANK_DATA_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from bank.settings import *  # noqa: E402,F403

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
CERTBANK_FIELD_KEY = "dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy0wMDA="
CERTBANK_INDEX_KEY = "dGVzdC1pbmRleC1rZXktMzItYnl0ZXMtbG9uZy0wMDA="
# PBKDF2 with a million rounds costs ~0.3 s a check; tests check many passwords.
# The MD5 hasher, recording each password for the privacy scan (tests/privacy.py).
PASSWORD_HASHERS = ["tests.privacy.RecordingMD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CERTBANK_DEMO_MODE = True
CERTBANK_SMS_RESEND_COOLDOWN = 0
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared in-memory database: concurrency tests run
    # real threads with their own connections, as web workers would.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}  # noqa: F405
# The PIN is 6 digits whatever the rounds; fewer rounds keep the cloud tests fast.
CERTBANK_CLOUD_PIN_ITERATIONS = 1_000
CERTBANK_SMS_SENDS_FREE = 1000  # tests send many codes to few customers; tests of the limit override it
