"""The bank torture test (issue 12 §6): `make torture`, or `python tools/torture/run.py`.

A throw-away PostgreSQL database, gunicorn with production settings, many
concurrent browser-like clients doing signed transfers end to end, faults
injected while they run (a worker SIGKILLed mid-request, backends
terminated, lock and statement timeouts), and a checker that reads the
database directly for the bank's invariants. Nothing in the application
imports this package.
"""
