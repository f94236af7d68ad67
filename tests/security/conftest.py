"""Fixtures of the security tests: the certificate fixtures, and a spy that
counts how often a real check runs (it calls through; nothing is mocked)."""

import threading

import pytest

from tests.certificates.conftest import holder, rsa_keys  # noqa: F401  (fixtures)


class Calls:
    """How many times the wrapped function ran (from any thread)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


@pytest.fixture
def spy(monkeypatch):
    """`spy(owner, "name")`: count the calls of owner.name (a module function
    or a method), each one still running the real code."""

    def install(owner, name: str) -> Calls:
        calls = Calls()
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            calls.add()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
        return calls

    return install
