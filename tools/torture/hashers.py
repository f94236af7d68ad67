"""PBKDF2 with few rounds for the seeded customers' passwords, which no one
types (they log in with their certificates): at the default 1,000,000 rounds
seeding a hundred customers would take a minute. The hash keeps the
algorithm name and its round count, so the server verifies it as usual.
Used only in the tool's own process (run.py sets PASSWORD_HASHERS)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class SeedPasswordHasher(PBKDF2PasswordHasher):
    iterations = 1_000
