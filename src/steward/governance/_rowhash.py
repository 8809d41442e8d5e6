"""What the trail covers: the governed rows, their canonical digests, and the session hooks that make
every change to one of them wait for a trail entry.

A row's digest is the SHA-256 of its canonical content: every column as read back from the database,
in a form that is the same on SQLite and PostgreSQL (datetimes as UTC ISO strings, JSON with sorted
keys, booleans as true/false, NULL as null). The trail's ``append`` and ``verify`` both read rows
through :func:`read_digests`, so they cannot disagree on what a row's content is.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date, datetime, timezone
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from steward.errors import StewardError
from steward.governance._tables import Base

__all__ = ["GOVERNED", "DamagedDatabaseError", "row_digest", "read_digests", "all_digests", "track",
           "take_pending", "missing_tables", "missing_text", "damage", "sqlite_file_damage"]

# The tables whose rows are records; the trail itself, login sessions and Alembic's bookkeeping are not, nor the
# prediction log and its review items (one row per decision, written in group commits; see _predlog.py), nor a
# monitor's windows (statistics re-derived from the source) and the records other systems send it (a log).
GOVERNED = ("principals", "api_keys", "policies", "models", "versions", "risk_assessments", "audit_runs",
            "sign_offs", "acceptances", "reproductions", "incidents", "incident_entries", "key_scopes",
            "training_profiles", "deployments", "review_decisions", "appeals", "harm_reports", "monitors",
            "monitor_alerts", "monitor_labels", "teams", "team_members")
EXPECTED = tuple(sorted(Base.metadata.tables)) + ("alembic_version",)
# Columns a later migration added to a governed table. The rows stored before it were covered without the
# column, so while it is NULL it is left out of a row's content: their digests stay what the trail holds. A
# row with a value there is covered with it (so clearing the value later is still a change).
LATER_COLUMNS = {"versions": frozenset({"privacy"}), "models": frozenset({"team_id"}),
                 "audit_runs": frozenset({"context"}),
                 "monitor_alerts": frozenset({"acknowledged_by", "acknowledged_at", "acknowledged_note"})}
_PENDING = "trail_pending"


class DamagedDatabaseError(StewardError):
    """The registry database cannot be read as a registry (tables missing, corrupt file)."""


def _plain(value: Any) -> Any:
    """A stored value as JSON, the same whichever database returned it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite gives naive datetimes back; they were stored in UTC
            value = value.replace(tzinfo=timezone.utc)
        # Microseconds are kept (isoformat drops them when zero): both databases store them exactly,
        # and dropping them would let an edit of only the microseconds go unseen.
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"a stored value of type {type(value).__name__} has no canonical form")


def row_digest(table_name: str, row: Any) -> str:
    """SHA-256 of one row's canonical content (``row`` maps column names to values as read back).

    >>> from datetime import datetime, timezone
    >>> naive, utc = datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> row_digest("models", {"id": 1, "at": naive}) == row_digest("models", {"id": 1, "at": utc})
    True
    """
    later = LATER_COLUMNS.get(table_name, frozenset())
    content = {"table": table_name,
               "row": {str(k): _plain(v) for k, v in dict(row).items() if v is not None or k not in later}}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pk(table_name: str):
    (column,) = Base.metadata.tables[table_name].primary_key.columns
    return column


def read_digests(session: Session, table_name: str, ids: list[Any] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The digests of a table's rows (all, or those with these primary keys) by ``"table:pk"``, and
    the rows whose stored values their column types cannot read (an edit made outside Steward), with why."""
    table, pk = Base.metadata.tables[table_name], _pk(table_name)
    q = select(table) if ids is None else select(table).where(pk.in_(ids))
    digests: dict[str, str] = {}
    try:
        for row in session.execute(q).mappings():
            digests[f"{table_name}:{row[pk.name]}"] = row_digest(table_name, row)
        return digests, {}
    except (ValueError, TypeError, OverflowError):
        pass  # some value cannot be read: read row by row to name the ones that cannot
    digests, unreadable = {}, {}
    keys = select(pk) if ids is None else select(pk).where(pk.in_(ids))
    for value in session.execute(keys).scalars().all():
        try:
            row = session.execute(select(table).where(pk == value)).mappings().one()
            digests[f"{table_name}:{value}"] = row_digest(table_name, row)
        except (ValueError, TypeError, OverflowError) as exc:
            unreadable[f"{table_name}:{value}"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return digests, unreadable


def all_digests(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """Every governed row's digest, and the rows that cannot be read."""
    digests: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for name in GOVERNED:
        d, u = read_digests(session, name)
        digests.update(d)
        unreadable.update(u)
    return digests, unreadable


# --- tracking the rows a transaction changes ---------------------------------------------------

def track(sessions: sessionmaker) -> None:
    """Remember every governed row a session's flushes insert, update or delete, so that ``append``
    covers it; refuse to commit while a changed row has no trail entry after its change."""
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_transaction_end", _after_transaction_end)
    event.listen(sessions, "do_orm_execute", _refuse_bulk_writes)


def _after_flush(session: Session, _context: Any) -> None:
    # The new/dirty/deleted collections still hold what this flush wrote.
    pending = session.info.setdefault(_PENDING, {})
    changed = (obj for obj in session.dirty if session.is_modified(obj, include_collections=False))
    for obj in chain(session.new, changed, session.deleted):
        state = inspect(obj)
        table = state.mapper.local_table
        if table.name not in GOVERNED:
            continue
        (pk,) = state.mapper.primary_key_from_instance(obj)
        pending[f"{table.name}:{pk}"] = (table.name, pk)


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.get(_PENDING)
    if pending:
        raise RuntimeError(f"governed row(s) {', '.join(sorted(pending))} were changed but no trail entry "
                           f"covers the change: call _trail.append after changing them, in the same transaction")


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: committed clean, or rolled back
        session.info.pop(_PENDING, None)


def _refuse_bulk_writes(state: Any) -> None:
    # Bulk INSERT/UPDATE/DELETE statements bypass the flush, so the trail could not cover their rows.
    if state.is_insert or state.is_update or state.is_delete:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name in GOVERNED:
            raise RuntimeError(f"a bulk write to the governed table {name} bypasses the trail; change its rows "
                               f"as ORM objects so the trail entry can cover them")


def take_pending(session: Session) -> dict[str, tuple[str, Any]]:
    """The governed rows changed since the last trail entry (flushes first); forgets them."""
    session.flush()
    return session.info.pop(_PENDING, None) or {}


# --- a damaged database ----------------------------------------------------------------------------

def missing_tables(conn: Connection) -> list[str]:
    names = set(inspect(conn).get_table_names())
    return [t for t in EXPECTED if t not in names]


def missing_text(missing: list[str]) -> str:
    return f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)} {'are' if len(missing) > 1 else 'is'} missing"


def damage(conn: Connection) -> str | None:
    """Why the database is damaged (tables missing; SQLite's integrity check failing), or None."""
    missing = missing_tables(conn)
    if missing:
        return missing_text(missing)
    if conn.dialect.name == "sqlite":
        rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            return f"SQLite's integrity check failed: {'; '.join(rows[:3])}"
    return None


def sqlite_file_damage(url: str | None) -> str | None:
    """For a SQLite file Steward could not open: why it is damaged, or None when it is not (or is no
    SQLite file at all, so the failure has another cause). Opens the file read-only."""
    from steward.governance._db import database_url

    parsed = make_url(database_url(url))
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    if not path.is_file():
        return None
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in EXPECTED if t not in names]
            if missing:
                return f"{path}: {missing_text(missing)}"
            rows = [str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall()]
            return None if rows == ["ok"] else f"{path}: SQLite's integrity check failed: {'; '.join(rows[:3])}"
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"{path}: {exc}"
