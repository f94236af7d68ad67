"""A torture or bench run never drops a database another run is still using
(a second `make torture` once ended a 150-minute run by dropping its database)."""

import os

import psycopg
import pytest

from tools.torture import world


def test_a_database_in_use_is_not_recreated_and_a_free_one_is():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the torture databases are PostgreSQL's")
    name = f"certbank_guard_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    maintenance, own = world.database_urls(url, name)
    world.database_recreate(maintenance, name)
    with psycopg.connect(own) as user:
        user.execute("CREATE TABLE kept (n int)")
        user.commit()
        with pytest.raises(SystemExit, match="in use"):
            world.database_recreate(maintenance, name)
        assert user.execute("SELECT count(*) FROM kept").fetchone() == (0,)  # still there, still connected
    world.database_recreate(maintenance, name)  # nobody connected: made afresh
    with psycopg.connect(own) as fresh:
        assert fresh.execute("SELECT to_regclass('kept')").fetchone() == (None,)
    world.database_drop(maintenance, name)
