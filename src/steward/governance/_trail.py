"""The tamper-evident trail: every change appends an entry whose hash covers the previous one.

``hash = sha256(seq | created_at | actor | action | subject | payload | prev_hash)``, with the
payload as canonical JSON. Editing any entry breaks its own hash; deleting one breaks the chain
(a gap in ``seq`` and a ``prev_hash`` that no longer matches); deleting the newest is caught by
the one-row ``trail_head``, which every append locks so that concurrent writers stay in order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steward.governance._tables import TrailEntry, TrailHead, iso, now

__all__ = ["append", "verify", "TrailReport", "GENESIS", "canonical"]

GENESIS = "0" * 64


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, created_at: str, actor: str, action: str, subject: str, payload: str, prev_hash: str) -> str:
    text = "|".join([str(seq), created_at, actor, action, subject, payload, prev_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(session: Session, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None) -> TrailEntry:
    head = session.execute(select(TrailHead).where(TrailHead.id == 1).with_for_update()).scalar_one()
    seq = head.seq + 1
    created = iso(now())
    text = canonical(payload or {})
    h = entry_hash(seq, created, actor, action, subject, text, head.hash)
    entry = TrailEntry(seq=seq, created_at=created, actor=actor, action=action, subject=subject, payload=text,
                       prev_hash=head.hash, hash=h)
    session.add(entry)
    head.seq, head.hash = seq, h
    return entry


@dataclass
class TrailReport:
    entries: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "problems": list(self.problems)}


def verify(session: Session) -> TrailReport:
    """Recompute every hash and follow the chain; say which entries were edited or are missing."""
    head = session.execute(select(TrailHead).where(TrailHead.id == 1)).scalar_one()
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    count = 0
    for e in session.execute(select(TrailEntry).order_by(TrailEntry.seq)).scalars():
        count += 1
        if e.seq != expected_seq:
            missing = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq}-{e.seq - 1}"
            problems.append(f"entry {missing} is missing (deleted): the trail jumps from {expected_seq - 1} to {e.seq}")
        elif e.prev_hash != prev:
            problems.append(f"entry {e.seq} does not follow entry {e.seq - 1}: its prev_hash does not match")
        if entry_hash(e.seq, e.created_at, e.actor, e.action, e.subject, e.payload, e.prev_hash) != e.hash:
            problems.append(f"entry {e.seq} ({e.action} {e.subject}) was edited: its content no longer matches its hash")
        expected_seq, prev = e.seq + 1, e.hash
    if head.seq != expected_seq - 1:
        problems.append(f"the trail ends at entry {expected_seq - 1} but its head says {head.seq}: "
                        f"{'newer entries were deleted' if head.seq > expected_seq - 1 else 'the head was rolled back'}")
    elif head.hash != prev:
        problems.append(f"the newest entry ({head.seq}) does not match the trail head's hash")
    return TrailReport(entries=count, head_seq=head.seq, head_hash=head.hash, problems=problems)
