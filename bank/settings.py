"""Certbank settings, read from the environment (see `.env.example`).

`DJANGO_ENV=production` turns on production behaviour: no debug, secrets
required from the environment, secure cookies, HSTS, demo pages off.
Anything else is development with safe local defaults.
"""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from bank import devsecrets
from bank.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENT = env_str("DJANGO_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"

# Data folder for the SQLite file, development secrets and (later) CA keys.
# Outside version control; in production point it at a persistent volume.
DATA_DIR = Path(env_str("CERTBANK_DATA_DIR", str(BASE_DIR / "var")))

if PRODUCTION:
    _secrets = {}
else:
    _secrets = devsecrets.load_or_create(DATA_DIR)


def _secret(name: str) -> str:
    # SECURITY: production refuses to start without its secrets; development
    # falls back to per-machine random keys kept outside the repository.
    return env_str(name, _secrets.get(name), required=PRODUCTION)


SECRET_KEY = _secret("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "core",
    "audit",
    "banking",
    "accounts",
    "certificates",
    "flows",
]

MIDDLEWARE = [
    "bank.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "bank.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bank.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.device.DeviceMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Inside the language and CSRF: an empty 4xx (a 405 from require_POST) gets
    # a Korean page, and the token its forms carry (the footer's language
    # switch) gets its cookie from CsrfViewMiddleware on the way out.
    "bank.middleware.EmptyRefusalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After MessageMiddleware: the idle logout leaves a message for the next page.
    "bank.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.tenancy.BankMiddleware",
]

ROOT_URLCONF = "bank.urls"
WSGI_APPLICATION = "bank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bank.context_processors.bank_context",
            ],
        },
    },
]

# SQLite by default (a file in the data folder); PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'certbank.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent transfers queue
    # instead of failing with "database is locked" (see shared NOTES).
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.Customer"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.BankPasswordBackend",
    "accounts.backends.StaffBackend",
    "certificates.backends.CertificateBackend",
]
LOGIN_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("한국어")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Sessions and security headers -------------------------------------------
# Database sessions whose save turns a database fault into a logged 500 (bank/sessions.py).
SESSION_ENGINE = "bank.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", PRODUCTION)
# The CRL, the OCSP responder and the CA certificates answer over plain http
# too, at the addresses every certificate carries (certificates.ca.ca_addresses):
# RFC 5280 §8 and RFC 6960 Appendix A. Their answers are signed; a client
# checking the status of a TLS certificate cannot need TLS first; they set no
# cookie. HSTS (sent only over https) upgrades browsers, which get the same
# bytes over https; OCSP and CRL clients ignore it. Paths without the leading /.
SECURE_REDIRECT_EXEMPT = [r"^ca/ocsp(/|$)", r"^ca/crl/issuing\.crl$", r"^ca/(root|issuing)\.(der|pem)$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
# Reverse proxies in front of the app that append the client's address to
# X-Forwarded-For (core.clients.client_address): per-network limits count the
# address the outermost one saw. 0: REMOTE_ADDR is the client (no proxy).
CERTBANK_PROXY_HOPS = env_int("CERTBANK_PROXY_HOPS", 0)
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Messages to customers ---------------------------------------------------
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Certbank <no-reply@certbank.invalid>")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)

# --- Certbank ----------------------------------------------------------------
# Keys for field encryption (RRN, AES-GCM) and for keyed digests (RRN index,
# account PINs). 32 random bytes each, URL-safe base64.
CERTBANK_FIELD_KEY = _secret("CERTBANK_FIELD_KEY")
CERTBANK_INDEX_KEY = _secret("CERTBANK_INDEX_KEY")
# Demo pages (내 휴대폰, 내 OTP) and the demo SMS outbox.
CERTBANK_DEMO_MODE = env_bool("CERTBANK_DEMO_MODE", not PRODUCTION)
CERTBANK_SMS_GATEWAY = env_str("CERTBANK_SMS_GATEWAY", "core.sms.OutboxGateway")
CERTBANK_IDLE_TIMEOUT = env_int("CERTBANK_IDLE_TIMEOUT", 600)
CERTBANK_LOGIN_MAX_FAILURES = 5
CERTBANK_PIN_MAX_FAILURES = 5
CERTBANK_SMS_CODE_VALID_SECONDS = 180
CERTBANK_SMS_RESEND_COOLDOWN = 30
CERTBANK_SMS_MAX_FAILURES = 5
# SMS codes a customer may ask for within an hour before each next one waits (5 minutes, doubling to an hour).
CERTBANK_SMS_SENDS_FREE = env_int("CERTBANK_SMS_SENDS_FREE", 10)
# OTP (django-otp's own exponential throttle is off: core.throttle back-off instead).
OTP_TOTP_THROTTLE_FACTOR = 0
CERTBANK_IDENTITY_MAX_FAILURES = 5
CERTBANK_WELCOME_DEPOSIT = env_int("CERTBANK_WELCOME_DEPOSIT", 1_000_000)
CERTBANK_SIGNUP_PENDING_SECONDS = 30 * 60
# Certification authority (certificates/ca/). The CA keys in DATA_DIR/ca/
# are encrypted PKCS#8 under this passphrase.
CERTBANK_CA_PASSPHRASE = _secret("CERTBANK_CA_PASSPHRASE")
CERTBANK_CA_KEY_BITS = env_int("CERTBANK_CA_KEY_BITS", 3072)
# Hash of the CA's RSASSA-PKCS1-v1_5 signatures: sha256, sha384 or sha512.
CERTBANK_CA_SIGNATURE_HASH = env_str("CERTBANK_CA_SIGNATURE_HASH", "sha256")
# Smallest RSA key the CA certifies (DESIGN.md §1: RSA-2048).
CERTBANK_MIN_RSA_BITS = env_int("CERTBANK_MIN_RSA_BITS", 2048)

OTP_TOTP_ISSUER = "Certbank"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.requests.RequestIdFilter"}},
    "formatters": {"plain": {"format": "{asctime} {levelname} [{request_id}] {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "loggers": {
        "certbank": {"handlers": ["console"], "level": env_str("CERTBANK_LOG_LEVEL", "INFO")},
        # A 500 logs its traceback here with the request id, DEBUG or not (Django's
        # default sends it only to mail_admins when DEBUG is off, and ADMINS is empty).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
CSRF_FAILURE_VIEW = "bank.views.csrf_failure_view"

# Signing challenges live this long (DESIGN.md §3: about two minutes).
CERTBANK_CHALLENGE_SECONDS = env_int("CERTBANK_CHALLENGE_SECONDS", 120)
# Signature schemes the server accepts from certificate holders, in order.
# PKCS#1 v1.5 is what NPKI tools and WebCrypto produce; PSS is ready for the
# stronger profile (OWASP ASVS 5.0).
CERTBANK_SIGNATURE_SCHEMES = ("pkcs1v15", "pss")
# Bad signatures for one certificate in a row (from anywhere) before its holder gets an SMS alert.
CERTBANK_CERT_LOGIN_ALERT_AFTER = 5
# The address written into certificates: the CPS page under it, and OCSP, CA issuers and
# CRL under its plain-http form (certificates.ca.ca_addresses, SECURE_REDIRECT_EXEMPT).
CERTBANK_PUBLIC_URL = env_str("CERTBANK_PUBLIC_URL", "http://127.0.0.1:8000")
# Identity verification for certificate issuance stays good this long.
# A step-up verification (본인확인 + SMS, OTP) is good for one use within this many minutes.
CERTBANK_VERIFICATION_MINUTES = env_int("CERTBANK_VERIFICATION_MINUTES", 10)
CERTBANK_CRL_VALIDITY_HOURS = env_int("CERTBANK_CRL_VALIDITY_HOURS", 24)  # CRL nextUpdate − thisUpdate (certificates/ca/)

# 금융인증서 (cloud certificate): PBKDF2-HMAC-SHA256 rounds the browser runs on
# the PIN (for the verifier and for the wrapping key), wrong PINs before the
# certificate locks, devices per person, and the automatic renewal window.
CERTBANK_CLOUD_PIN_ITERATIONS = env_int("CERTBANK_CLOUD_PIN_ITERATIONS", 100_000)
CERTBANK_CLOUD_MAX_PIN_FAILURES = 5
CERTBANK_CLOUD_MAX_DEVICES = 5
CERTBANK_CLOUD_RENEWAL_DAYS = 30

# Transfers (계좌이체, DESIGN.md §1 "Transfer limits"): whole won.
# Limits per security grade: (per transfer, per day).
CERTBANK_TRANSFER_LIMITS = {
    "otp": (
        env_int("CERTBANK_TRANSFER_LIMIT_OTP_ONCE", 100_000_000),
        env_int("CERTBANK_TRANSFER_LIMIT_OTP_DAY", 500_000_000),
    ),
    "basic": (
        env_int("CERTBANK_TRANSFER_LIMIT_BASIC_ONCE", 10_000_000),
        env_int("CERTBANK_TRANSFER_LIMIT_BASIC_DAY", 50_000_000),
    ),
}
# 타행 이체 수수료 (당행 이체 is free), paid into the sending bank's fee income account (타행이체 수수료 수입).
CERTBANK_TRANSFER_FEE_OTHER_BANK = env_int("CERTBANK_TRANSFER_FEE_OTHER_BANK", 500)
# OTP holders enter their OTP code for a transfer above this amount.
CERTBANK_TRANSFER_OTP_THRESHOLD = env_int("CERTBANK_TRANSFER_OTP_THRESHOLD", 1_000_000)
# From a device that is not designated, reaching this much in a day needs the extra SMS check.
CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD = env_int("CERTBANK_TRANSFER_SMS_DAILY_THRESHOLD", 3_000_000)
CERTBANK_DESIGNATED_DEVICES_MAX = 5
# 수취인 조회: a customer whose lookups fail this many times in the window
# (seconds, counted from the first failure) waits for the window's end (a 429),
# so masked names cannot be collected by trying account numbers.
CERTBANK_TRANSFER_LOOKUP_MAX_FAILURES = env_int("CERTBANK_TRANSFER_LOOKUP_MAX_FAILURES", 10)
CERTBANK_TRANSFER_LOOKUP_WINDOW_SECONDS = env_int("CERTBANK_TRANSFER_LOOKUP_WINDOW_SECONDS", 600)
# 인증서 복사 (certificates/services/copy.py): a copy session lives this long;
# 5 wrong numbers in a browser session → wait; the sealed blob's upper bound.
CERTBANK_COPY_SECONDS = 180
CERTBANK_COPY_LOOKUP_MAX_FAILURES = 5
CERTBANK_COPY_LOOKUP_WAIT_SECONDS = 60
CERTBANK_COPY_MAX_CIPHERTEXT = 64 * 1024
# Per client network (an IPv4 address or an IPv6 /64), counted in the
# database in a fixed window, whatever cookies the client sends: wrong
# numbers, and copy sessions opened. Loose enough for an office behind one
# NAT, tight enough that guessing 8-digit numbers goes nowhere. The refusal
# messages say "최대 10분", the default window.
CERTBANK_COPY_CLIENT_WINDOW_SECONDS = env_int("CERTBANK_COPY_CLIENT_WINDOW_SECONDS", 600)
CERTBANK_COPY_CLIENT_MAX_FAILURES = env_int("CERTBANK_COPY_CLIENT_MAX_FAILURES", 20)
CERTBANK_COPY_CLIENT_MAX_OPENS = env_int("CERTBANK_COPY_CLIENT_MAX_OPENS", 30)
