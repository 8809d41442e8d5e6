"""What changed between two policy versions, for one tier: the lines a team reads to know why its
audit is out of date (a threshold moved, a check was added, a sign-off is now required)."""

from __future__ import annotations

import json
from typing import Any

from steward.audit.policy import Policy

__all__ = ["policy_diff"]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _tier_settings(policy: Policy, tier: str) -> dict[str, Any]:
    t = policy.tiers[tier]
    d = t.to_dict()
    d.pop("name", None)
    return dict(d, guard=t.guard, monitor=t.monitor)


def policy_diff(old: Policy, new: Policy, tier: str) -> list[str]:
    """One line per setting of ``tier`` that differs, in the words ``checks.X.min: 0.8 -> 0.85``; a
    check added or removed is one line, not one per parameter."""
    head = f"policy {old.name} version {old.version} -> {new.name} version {new.version}"
    if tier not in old.tiers and tier not in new.tiers:
        return [head, f"tier {tier!r} is in neither policy"]
    if tier not in old.tiers:
        return [head, f"tier {tier!r} is new"]
    if tier not in new.tiers:
        return [head, f"tier {tier!r} was removed"]
    a, b = _tier_settings(old, tier), _tier_settings(new, tier)
    lines = [head]
    checks_a, checks_b = set(a["checks"]), set(b["checks"])
    lines += [f"check added: {c}" for c in sorted(checks_b - checks_a)]
    lines += [f"check removed: {c}" for c in sorted(checks_a - checks_b)]
    for c in checks_a - checks_b:
        a["checks"].pop(c)
    for c in checks_b - checks_a:
        b["checks"].pop(c)
    fa, fb = _flat(a), _flat(b)
    for key in sorted(set(fa) | set(fb)):
        if key not in fa:
            lines.append(f"{key}: (not set) -> {_show(fb[key])}")
        elif key not in fb:
            lines.append(f"{key}: {_show(fa[key])} -> (not set)")
        elif fa[key] != fb[key]:
            lines.append(f"{key}: {_show(fa[key])} -> {_show(fb[key])}")
    if len(lines) == 1:
        lines.append(f"no setting of tier {tier!r} changed (only other tiers or comments)")
    return lines
