"""The tests' own databases: a PostgreSQL database reset between tests is as good as a fresh copy."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import _postgres


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_reset_postgresql_database_gives_rows_back_in_the_order_written(engine):
    """`_Postgres.emptied` deletes rows where that keeps PostgreSQL's order of rows written, and truncates
    the rest. Deleting everything was not enough: once a page filled with old rows, the slots of updated
    rows were used again and new rows came back out of order (tests that relied on it failed now and
    then). Eighty tests' worth of rows through one table, some updating and some deleting theirs."""
    pg = _postgres()
    for test in range(80):
        names = [f"seat {test}-{i}" for i in range(8)]
        with engine.begin() as conn:
            for name in names:
                conn.execute(
                    text("INSERT INTO seat (team_id, name, archetype) VALUES ('T1', :n, 'engine')"), {"n": name}
                )
        with engine.connect() as conn:
            assert list(conn.execute(text("SELECT name FROM seat")).scalars()) == names, f"test {test}"
            assert conn.execute(text("SELECT min(id) FROM seat")).scalar_one() == 1
        with engine.begin() as conn:  # what a test leaves behind
            if test % 3 == 0:
                conn.execute(text("UPDATE seat SET archetype = 'root' WHERE name = :n"), {"n": names[test % 8]})
            if test % 5 == 0:
                conn.execute(text("DELETE FROM seat WHERE name = :n"), {"n": names[(test + 1) % 8]})
        assert pg.emptied(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM seat")).scalar_one() == 0
