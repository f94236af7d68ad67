"""Run work in threads released together, each with its own database
connection, as web workers would be (the test settings keep SQLite in a
file so that threads share it; CI runs the same tests on PostgreSQL)."""

import threading
from dataclasses import dataclass, field

from django.db import connection

from core.errors import DomainError


@dataclass
class Outcomes:
    results: list = field(default_factory=list)
    refusals: list = field(default_factory=list)  # DomainError instances
    errors: list = field(default_factory=list)  # anything else, as repr (a test asserts it is empty)

    @property
    def codes(self) -> list[str]:
        return sorted(refusal.code for refusal in self.refusals)


def at_once(count: int, work) -> Outcomes:
    """work(i) in `count` threads started by one barrier; returns what each did."""
    barrier = threading.Barrier(count)
    outcomes = Outcomes()
    lock = threading.Lock()

    def run(i):
        try:
            barrier.wait()
            result = work(i)
            with lock:
                outcomes.results.append(result)
        except DomainError as refusal:
            with lock:
                outcomes.refusals.append(refusal)
        except Exception as exc:  # reported by the caller
            with lock:
                outcomes.errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
