"""Where the registry lives: a SQLite file under ``.steward/`` by default, PostgreSQL for a team.

The schema is created and upgraded by Alembic migrations (``migrations/``), never by
``create_all``, so a database made by an older Steward is brought up to date the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from steward.errors import StewardError

__all__ = ["database_url", "make_engine", "upgrade", "upgrade_from", "current_revision", "DEFAULT_DIR"]

DEFAULT_DIR = ".steward"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: str | None = None) -> str:
    """The URL to use: the one given, else ``STEWARD_DATABASE_URL``, else ``.steward/steward.db`` here."""
    url = url or os.environ.get("STEWARD_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(DEFAULT_DIR).resolve() / 'steward.db'}"


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StewardError(f"database URL {url!r} is not a URL; use sqlite:///path/to/steward.db or "
                           f"postgresql+psycopg://user@host:5432/dbname") from None
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StewardError(f"cannot create the registry's folder {str(folder)!r}: {exc.strerror or exc}; "
                                   f"give a --database-url in a folder you can write to") from None
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_pragmas(engine)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver Steward installs
    try:
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except ModuleNotFoundError as exc:
        raise StewardError(f"no database driver for {parsed.drivername!r} ({exc.name} is not installed); "
                           f"Steward supports sqlite and postgresql+psycopg") from None


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL (readers never wait for the writer), foreign keys, and write transactions that take the
    write lock at BEGIN, so two writers queue instead of failing when one upgrades its lock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest migration (an empty database gets every table); its revision.

    A database that cannot be reached or opened is a :class:`StewardError` naming the URL.
    """
    return upgrade_from(engine)[1]


def upgrade_from(engine: Engine) -> tuple[str | None, str]:
    """Like :func:`upgrade`; also the revision the database had before (None: it was empty)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import DBAPIError

    cfg = _alembic_config(engine)
    try:
        with engine.begin() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, current_revision(engine)
    except DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise StewardError(f"cannot open the registry database {where}: {reason}; check the URL "
                           f"(--database-url or STEWARD_DATABASE_URL) and that the server is running") from None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return MigrationContext.configure(conn).get_current_revision()
