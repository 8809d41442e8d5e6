"""Migrations build the whole schema from an empty database, match the tables' definitions, and re-run safely."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from steward.governance import make_engine, upgrade
from steward.governance._tables import Base


def test_upgrade_from_empty_matches_the_models(db_url):
    engine = make_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        assert upgrade(engine) == "0007"
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables and "alembic_version" in tables
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == [], diff
            assert conn.execute(text("SELECT seq, hash FROM trail_head")).one() == (0, "0" * 64)
        assert upgrade(engine) == "0007"  # a second run changes nothing
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM trail_head")).scalar_one() == 1
    finally:
        engine.dispose()


def test_sqlite_is_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x' / 'r.db'}")  # the folder is created too
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
