"""The tamper-evident trail: every change appends an entry whose keyed hash covers the previous entry
and the content of the rows the change touched.

``hash = HMAC-SHA-256(key, [seq, created_at, actor, action, subject, payload, rows, prev_hash])``, the
fields as a canonical JSON array (so no field's text can shift into its neighbour), the payload as
canonical JSON, and ``rows`` mapping each governed row the change touched (``"table:pk"``) to the
SHA-256 of its content afterwards (null once deleted; see ``_rowhash``). The key is kept outside the
database (``_trailkey``), so whoever can write the database can neither edit an entry nor re-sign
the chain. Verification then finds:

- an edited entry (its HMAC fails), a deleted one (a gap in ``seq``; a ``prev_hash`` that no longer
  matches), deleted newest entries (the one-row ``trail_head``, which every append locks so that
  concurrent writers stay in order);
- a governed row edited, inserted or deleted straight in the database (its content no longer matches
  the newest entry covering it, no entry covers it, or an entry covers a row that is gone);
- with a signed checkpoint kept elsewhere (:func:`checkpoint`): a trail rolled back, truncated,
  wiped, or rewritten whole.

Entries written before the trail was keyed (``alg = "sha256"``) hash
``sha256(seq | created_at | actor | action | subject | payload | prev_hash)``. The first time a
registry opens such a trail with an intact chain, every entry is re-signed with the key and a
``trail.rekey`` entry covers the rows as they are then (:func:`load_key`). Someone who rewrites a
whole trail as unkeyed entries before that is caught only by a checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from steward.errors import StewardError
from steward.governance import _rowhash
from steward.governance._rowhash import GOVERNED, DamagedDatabaseError, row_digest, track
from steward.governance._tables import TrailEntry, TrailHead, iso, now
from steward.governance._trailkey import find_key, key_existed

__all__ = ["append", "verify", "checkpoint", "load_key", "track", "row_digest", "TrailReport", "GENESIS",
           "canonical", "entry_hash", "entry_hmac", "DamagedDatabaseError", "ALG", "LEGACY_ALG"]

GENESIS = "0" * 64
ALG, LEGACY_ALG = "hmac-sha256", "sha256"
_NO_HEAD = ("the database is damaged: the trail's head row is missing (deleted outside Steward), so no entry can be "
            "added; restore the database from a backup")


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, created_at: str, actor: str, action: str, subject: str, payload: str, prev_hash: str) -> str:
    """The unkeyed hash of an entry written before the trail was keyed (``alg = "sha256"``)."""
    text = "|".join([str(seq), created_at, actor, action, subject, payload, prev_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hmac(key: bytes, seq: int, created_at: str, actor: str, action: str, subject: str, payload: str,
               rows: str, prev_hash: str) -> str:
    text = canonical([seq, created_at, actor, action, subject, payload, rows, prev_hash])
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_signature(key: bytes, seq: int, hash_: str, created_at: str) -> str:
    text = f"steward-trail-checkpoint|{seq}|{hash_}|{created_at}"
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(str(a).encode("utf-8"), str(b).encode("utf-8"))


def _key(session: Session, key: bytes | str | None) -> bytes:
    key = key if key is not None else session.info.get("trail_key")
    if key is None:
        raise RuntimeError("the trail needs its key: use a session from Registry.tx(), or pass key=")
    return key.encode("utf-8") if isinstance(key, str) else key


def _write(session: Session, key: bytes, actor: str, action: str, subject: str, payload: dict[str, Any] | None,
           rows: dict[str, str | None]) -> TrailEntry:
    head = session.execute(select(TrailHead).where(TrailHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        raise DamagedDatabaseError(_NO_HEAD)
    seq, created, text, rows_text = head.seq + 1, iso(now()), canonical(payload or {}), canonical(rows)
    h = entry_hmac(key, seq, created, actor, action, subject, text, rows_text, head.hash)
    entry = TrailEntry(seq=seq, created_at=created, actor=actor, action=action, subject=subject, payload=text,
                       rows=rows_text, alg=ALG, prev_hash=head.hash, hash=h)
    session.add(entry)
    head.seq, head.hash = seq, h
    return entry


def append(session: Session, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None, *,
           key: bytes | str | None = None) -> TrailEntry:
    """Append an entry covering every governed row the session changed since the last entry.

    Call it after the change, in the same transaction: the session is flushed and the rows read back
    as stored, and the transaction cannot commit while a changed row is not covered.
    """
    key = _key(session, key)
    by_table: dict[str, list[Any]] = {}
    pending = _rowhash.take_pending(session)
    for table, pk in pending.values():
        by_table.setdefault(table, []).append(pk)
    rows: dict[str, str | None] = dict.fromkeys(pending)  # a row no longer there was deleted: null
    for table, ids in by_table.items():
        digests, unreadable = _rowhash.read_digests(session, table, ids)
        if unreadable:
            raise RuntimeError(f"rows just written cannot be read back: {unreadable}")
        rows.update(digests)
    return _write(session, key, actor, action, subject, payload, rows)


# --- opening: the key, and bringing an unkeyed trail under it ----------------------------------------

def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def load_key(engine: Engine, given: bytes | str | None = None, *, rekey: bool = False) -> bytes:
    """The trail's HMAC key for this database (see ``_trailkey`` for where it is kept).

    With ``rekey`` (the database was just upgraded from the schema before keyed trails), a trail of
    unkeyed entries only, with an intact chain, is re-signed with it (one transaction, and a
    ``trail.rekey`` entry covering the governed rows as they are); otherwise unkeyed entries stay
    as they are and verify reports them. A database missing tables is a
    :class:`DamagedDatabaseError`.
    """
    try:
        with engine.connect() as conn:
            missing = _rowhash.missing_tables(conn)
            if missing:
                raise DamagedDatabaseError(f"the database is damaged: {_rowhash.missing_text(missing)}; "
                                           f"restore it from a backup")
            counts = dict(conn.execute(select(TrailEntry.alg, func.count()).group_by(TrailEntry.alg)).all())
            if conn.execute(select(TrailHead.seq).where(TrailHead.id == 1)).first() is None:
                raise DamagedDatabaseError(_NO_HEAD)
    except DBAPIError as exc:
        raise DamagedDatabaseError(f"the database is damaged: {_reason(exc)}; restore it from a backup") from None
    existed = key_existed(engine, given)
    key = find_key(engine, given, keyed=counts.get(ALG, 0) > 0)
    # Re-sign only on the upgrade from the unkeyed schema and with a key made for it now (or handed over
    # by the caller): a trail rewritten and downgraded by a database writer must not be laundered by
    # the next open with the key that already protected it.
    if rekey and not existed and counts.get(LEGACY_ALG, 0) and not counts.get(ALG, 0):
        _rekey(engine, key)
    return key


def _legacy_intact(entries: list[TrailEntry], head: TrailHead) -> bool:
    prev = GENESIS
    for i, e in enumerate(entries, start=1):
        if e.seq != i or e.prev_hash != prev or e.hash != entry_hash(e.seq, e.created_at, e.actor, e.action,
                                                                      e.subject, e.payload, e.prev_hash):
            return False
        prev = e.hash
    return head.seq == len(entries) and head.hash == prev


def _rekey(engine: Engine, key: bytes) -> None:
    with Session(engine) as s, s.begin():
        head = s.execute(select(TrailHead).where(TrailHead.id == 1).with_for_update()).scalar_one_or_none()
        entries = list(s.execute(select(TrailEntry).order_by(TrailEntry.seq)).scalars())
        # Checked again under the head's lock: another process may have re-signed it meanwhile.
        if head is None or not entries or any(e.alg != LEGACY_ALG for e in entries) or not _legacy_intact(entries, head):
            return  # a broken unkeyed chain stays as it is, for verify to report
        legacy_head, prev = head.hash, GENESIS
        for e in entries:
            e.rows, e.alg, e.prev_hash = "{}", ALG, prev
            e.hash = prev = entry_hmac(key, e.seq, e.created_at, e.actor, e.action, e.subject, e.payload, e.rows, prev)
        head.hash = prev
        digests, _unreadable = _rowhash.all_digests(s)  # a row that cannot be read stays uncovered, and is reported
        # The API keys there now hold unkeyed hashes: only these keep working (see _principals.authenticate).
        legacy_keys = sorted(row.split(":", 1)[1] for row in digests if row.startswith("api_keys:"))
        _write(s, key, "steward", "trail.rekey", "trail", {"legacy_entries": len(entries), "legacy_head": legacy_head,
                                                           "legacy_api_keys": legacy_keys}, dict(digests))


# --- verification ----------------------------------------------------------------------------------

@dataclass
class TrailReport:
    entries: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        out = {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq, "head_hash": self.head_hash,
               "problems": list(self.problems)}
        if self.checkpoint is not None:
            out["checkpoint"] = dict(self.checkpoint)
        return out


def _row_order(key: str) -> tuple:
    table, _, pk = key.partition(":")
    rank = GOVERNED.index(table) if table in GOVERNED else len(GOVERNED)
    return (rank, table, 0, int(pk), "") if pk.isdigit() else (rank, table, 1, 0, pk)


def verify(session: Session, key: bytes | str | None = None, checkpoint: dict[str, Any] | None = None) -> TrailReport:
    """Check the chain, every entry's HMAC, every governed row against the newest entry covering it,
    and (given) a checkpoint. A database that cannot be read is a problem, not an exception."""
    key = _key(session, key)
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        # One snapshot for the entries and the rows, so a concurrent change is not mistaken for tampering.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        broken = _rowhash.damage(session.connection())
        if broken is None:
            return _verify(session, key, checkpoint)
        reason = broken
    except (SQLAlchemyError, ValueError, TypeError) as exc:
        reason = _reason(exc)
    cp = _checkpoint_info(checkpoint, ["the trail cannot be read"]) if checkpoint is not None else None
    return TrailReport(entries=0, head_seq=0, head_hash=GENESIS, problems=[f"the database is damaged: {reason}"],
                       checkpoint=cp)


def _verify(session: Session, key: bytes, checkpoint: dict[str, Any] | None) -> TrailReport:
    head = session.execute(select(TrailHead).where(TrailHead.id == 1)).scalar_one_or_none()
    problems: list[str] = [] if head is not None else ["the trail head is missing: its row was deleted outside Steward"]
    expected_seq, prev, count, keyed, keyed_bad = 1, GENESIS, 0, 0, 0
    covering: dict[str, tuple[str | None, TrailEntry]] = {}
    hashes: dict[int, str] = {}
    for e in session.execute(select(TrailEntry).order_by(TrailEntry.seq)).scalars():
        count += 1
        hashes[e.seq] = e.hash
        label = f"entry {e.seq} ({e.action} {e.subject})"
        if e.seq != expected_seq:
            missing = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq}-{e.seq - 1}"
            problems.append(f"entry {missing} is missing (deleted): the trail jumps from {expected_seq - 1} to {e.seq}")
        elif e.prev_hash != prev:
            problems.append(f"entry {e.seq} does not follow entry {e.seq - 1}: its prev_hash does not match")
        if e.alg == ALG:
            keyed += 1
            if not _same(entry_hmac(key, e.seq, e.created_at, e.actor, e.action, e.subject, e.payload, e.rows,
                                    e.prev_hash), e.hash):
                keyed_bad += 1
                problems.append(f"{label} was edited: its content no longer matches its hash")
            try:
                rows = json.loads(e.rows)
                for row, digest in rows.items():
                    covering[row] = (digest, e)
            except (ValueError, AttributeError):
                problems.append(f"{label} has rows that are not a JSON object: it was edited")
        elif e.alg == LEGACY_ALG and keyed:
            problems.append(f"{label} is an unkeyed (sha256) entry after keyed ones: it was written without the "
                            f"trail key, outside Steward")
        elif e.alg == LEGACY_ALG:
            if entry_hash(e.seq, e.created_at, e.actor, e.action, e.subject, e.payload, e.prev_hash) != e.hash:
                problems.append(f"{label} was edited: its content no longer matches its hash")
        else:
            problems.append(f"{label} names an unknown hash algorithm {e.alg!r}: it was edited")
        expected_seq, prev = e.seq + 1, e.hash
    if keyed > 1 and keyed_bad == keyed:
        problems.append("no keyed entry matches its HMAC: the trail was re-signed with another key, or the key "
                        "Steward found (STEWARD_TRAIL_KEY, or the key file) is not the one that signed it")
    if head is not None and head.seq != expected_seq - 1:
        problems.append(f"the trail ends at entry {expected_seq - 1} but its head says {head.seq}: "
                        f"{'newer entries were deleted' if head.seq > expected_seq - 1 else 'the head was rolled back'}")
    elif head is not None and head.hash != prev:
        problems.append(f"the newest entry ({head.seq}) does not match the trail head's hash")
    problems += _row_problems(session, covering)
    cp = None
    if checkpoint is not None:
        cp_problems = _checkpoint_problems(checkpoint, key, hashes, expected_seq - 1)
        problems += cp_problems
        cp = _checkpoint_info(checkpoint, cp_problems)
    return TrailReport(entries=count, head_seq=head.seq if head else 0, head_hash=head.hash if head else GENESIS,
                       problems=problems, checkpoint=cp)


def _row_problems(session: Session, covering: dict[str, tuple[str | None, TrailEntry]]) -> list[str]:
    digests, unreadable = _rowhash.all_digests(session)
    problems = []
    for row in sorted(set(digests) | set(unreadable) | {r for r, (d, _) in covering.items() if d is not None},
                      key=_row_order):
        digest, entry = covering.get(row, (None, None))
        if row in unreadable:
            problems.append(f"{row} was changed outside Steward: a stored value cannot be read ({unreadable[row]})")
        elif row not in digests:
            problems.append(f"{row} was deleted outside Steward: trail entry {entry.seq} ({entry.action} "
                            f"{entry.subject}) covers it")
        elif entry is None:
            problems.append(f"{row} has no trail entry (inserted outside Steward)")
        elif digest is None:
            problems.append(f"{row} has no trail entry since entry {entry.seq} ({entry.action} {entry.subject}) "
                            f"recorded its deletion (inserted again outside Steward)")
        elif digest != digests[row]:
            problems.append(f"{row} was changed outside Steward: its content no longer matches trail entry "
                            f"{entry.seq} ({entry.action} {entry.subject})")
    return problems


# --- checkpoints ---------------------------------------------------------------------------------

def checkpoint(session: Session, key: bytes | str | None = None) -> dict[str, Any]:
    """The trail's head, signed with the key: keep it outside the database's reach, and give it to
    :func:`verify` later to find a trail rolled back, truncated, wiped or rewritten since.

    Refuses while the trail does not verify: a checkpoint would vouch for the tampering.
    """
    key = _key(session, key)
    report = verify(session, key)
    if not report.ok:
        raise StewardError(f"the trail does not verify ({len(report.problems)} problem(s), the first: "
                           f"{report.problems[0]}); a checkpoint now would vouch for that, so none was made")
    at = iso(now())
    return {"seq": report.head_seq, "hash": report.head_hash, "created_at": at,
            "signature": checkpoint_signature(key, report.head_seq, report.head_hash, at)}


def _checkpoint_info(cp: Any, problems: list[str]) -> dict[str, Any]:
    get = cp.get if isinstance(cp, dict) else (lambda _k: None)
    return {"seq": get("seq"), "hash": get("hash"), "created_at": get("created_at"), "matches": not problems}


def _checkpoint_problems(cp: Any, key: bytes, hashes: dict[int, str], last: int) -> list[str]:
    try:
        if isinstance(cp["seq"], bool) or not isinstance(cp["seq"], int) or cp["seq"] < 0:
            raise TypeError
        seq, h, at, sig = cp["seq"], str(cp["hash"]), str(cp["created_at"]), str(cp["signature"])
    except (KeyError, TypeError):
        return ["the checkpoint is malformed: it needs seq (a whole number), hash, created_at and signature, "
                "as `steward trail checkpoint` writes them"]
    if not _same(checkpoint_signature(key, seq, h, at), sig):
        return [f"the checkpoint of {at} is forged or altered: its signature does not match (or it was made "
                f"with another trail key)"]
    if seq == 0:
        return []
    if not hashes:
        return [f"the trail was wiped: it is empty, but the checkpoint of {at} saw it reach entry {seq}"]
    if seq > last:
        return [f"the trail was rolled back or truncated: it ends at entry {last}, but the checkpoint of {at} "
                f"saw entry {seq}"]
    if seq not in hashes:
        return [f"entry {seq}, the head the checkpoint of {at} saw, is missing"]
    if not _same(hashes[seq], h):
        return [f"entry {seq} is not the entry the checkpoint of {at} saw: its hash differs (the trail was "
                f"rewritten)"]
    return []
