"""Loading and validating a policy file, resolving its tiers, and assigning a tier from risk answers."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from steward.audit.checks import CHECKS, CheckParams
from steward.audit._risk import RiskAnswers
from steward.audit.policy._schema import Condition, PolicyModel, TierModel
from steward.audit._yaml import YamlDoc, problems_from_validation, raise_problems, read_yaml
from steward.errors import PolicyError

__all__ = ["Policy", "Tier", "load_policy", "default_policy_path", "write_starter_files", "TIER_DEFAULTS"]

# What a tier gets when neither it nor a tier it extends says otherwise.
TIER_DEFAULTS: dict[str, Any] = {
    "min_group_size": 30, "confidence": 0.95, "alpha": 0.05, "require_significance": False, "sign_off": [],
    "distinct_signers": False, "require_reproduction": False, "guard": None,
    "monitor": None, "min_cell": 10, "reaudit_days": 365,
    "incident_response_hours": {"critical": 4, "high": 24, "medium": 72, "low": 168},
}


@dataclass(frozen=True)
class Tier:
    """A risk tier with everything inherited through ``extends`` filled in."""

    name: str
    description: str
    conditions: tuple[Condition, ...]
    min_group_size: int
    confidence: float
    alpha: float
    require_significance: bool
    checks: dict[str, CheckParams]
    sign_off: tuple[str, ...]
    extends: str | None = None
    distinct_signers: bool = False
    require_reproduction: bool = False
    guard: dict[str, Any] = field(default_factory=dict)  # guarded-endpoint defaults (steward.serving)
    monitor: dict[str, Any] = field(default_factory=dict)  # monitoring rules (steward.monitoring)
    min_cell: int = 10  # a published report suppresses groups with fewer rows (steward audit --publish)
    reaudit_days: int = 365  # a model is audited again at least this often (the standards console)
    # an incident of each severity must be contained within this many hours of being opened
    incident_response_hours: dict[str, float] = field(default_factory=lambda: dict(TIER_DEFAULTS["incident_response_hours"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description,
            "assign_when": [c.describe() for c in self.conditions],
            "min_group_size": self.min_group_size, "confidence": self.confidence, "alpha": self.alpha,
            "require_significance": self.require_significance,
            "checks": {k: p.model_dump(exclude_none=True) for k, p in self.checks.items()},
            "sign_off": list(self.sign_off), "extends": self.extends,
            "distinct_signers": self.distinct_signers, "require_reproduction": self.require_reproduction,
            "min_cell": self.min_cell, "reaudit_days": self.reaudit_days,
            "incident_response_hours": dict(self.incident_response_hours),
        }


@dataclass(frozen=True)
class Policy:
    """A validated policy: risk tiers, what puts a model in each, and the checks each requires."""

    name: str
    version: str
    tiers: dict[str, Tier]
    domains: tuple[str, ...]
    incident_checklist: tuple[str, ...] = ()
    owner: str | None = None
    description: str | None = None
    path: str | None = None
    sha256: str = ""
    text: str = field(default="", repr=False)

    @classmethod
    def default(cls) -> "Policy":
        """The policy shipped with Steward (``steward init`` writes a copy to edit)."""
        return load_policy(default_policy_path())

    def tier(self, name: str) -> Tier:
        if name in self.tiers:
            return self.tiers[name]
        close = difflib.get_close_matches(str(name), list(self.tiers), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PolicyError(
            f"tier {name!r} is not defined in the policy {self.name!r}; {hint}its tiers are: {', '.join(self.tiers)}"
        )

    def assign_tier(self, answers: RiskAnswers | dict[str, Any]) -> tuple[Tier, str]:
        """The first tier (in file order) any of whose conditions holds, and why."""
        if isinstance(answers, dict):
            try:
                answers = RiskAnswers.model_validate(answers)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                key = ".".join(str(p) for p in first["loc"])
                raise PolicyError(f"risk answers: {key}: {first['msg']}") from None
        if answers.domain not in self.domains:
            raise PolicyError(
                f"risk answers: domain {answers.domain!r} is not one the policy knows; use one of: {', '.join(self.domains)}"
            )
        for tier in self.tiers.values():
            if not tier.conditions:
                return tier, f"tier {tier.name!r} applies when no higher tier does"
            for cond in tier.conditions:
                if cond.matches(answers):
                    return tier, f"tier {tier.name!r} because {cond.describe(answers)}"
        raise PolicyError("no tier of the policy matches these risk answers; add a tier without assign_when as the last one")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "owner": self.owner, "path": self.path,
                "sha256": self.sha256, "tiers": list(self.tiers)}


def default_policy_path() -> Path:
    return Path(str(resources.files("steward.audit.policy") / "default.yaml"))


def load_policy(source: str | Path | Policy | None = None) -> Policy:
    """Read and validate a policy YAML file (``None`` or ``"default"``: the shipped policy).

    Every problem is reported as ``file:line: key: message``, all of them at once.
    """
    if isinstance(source, Policy):
        return source
    if source is None or str(source) == "default":
        source = default_policy_path()
    doc = read_yaml(Path(source) if "\n" not in str(source) else str(source), what="policy")
    if not isinstance(doc.value, dict):
        raise PolicyError(f"{doc.name}:1: a policy file must be a mapping with policy:, domains: and tiers:")
    problems: list[str] = []
    try:
        model = PolicyModel.model_validate(doc.value)
    except ValidationError as exc:
        problems += problems_from_validation(exc, doc, PolicyModel)
        # every kind of problem at once: the tiers are still checked, from the parts of the file that are valid
        model = _salvaged(doc.value)
    tiers = _resolve_tiers(model, doc, problems) if model is not None else {}
    problems.sort(key=lambda m: _line_of(m, doc.name))  # in file order, whichever check found them
    raise_problems(problems, doc, "policy")
    return Policy(
        name=model.policy.name, version=model.policy.version, owner=model.policy.owner,
        description=model.policy.description, tiers=tiers, domains=tuple(model.domains),
        incident_checklist=tuple(model.incident_checklist),
        path=None if doc.name.startswith("<") else doc.name,
        sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(), text=doc.text,
    )


def _line_of(problem: str, name: str) -> int:
    head = problem[len(name) + 1:].split(":", 1)[0] if problem.startswith(name + ":") else ""
    return int(head) if head.isdigit() else 0


def _valid_part(model_cls: Any, raw: Any, fill: dict[str, Any]) -> Any:
    """``raw`` validated as ``model_cls`` without the keys that make it invalid (a required one gets ``fill``'s
    value); None when nothing valid is left. Its problems were reported by the whole file's validation."""
    if not isinstance(raw, dict):
        return None
    data = dict(raw)
    for _ in range(len(data) + len(fill) + 1):
        try:
            return model_cls.model_validate(data)
        except ValidationError as exc:
            bad = {e["loc"][0] for e in exc.errors(include_url=False) if e["loc"]}
            if not bad or all(data.get(k) == fill.get(k) and k in data for k in bad):
                return None
            for key in bad:
                if key in fill:
                    data[key] = fill[key]
                else:
                    data.pop(key, None)
    return None


def _salvaged(value: dict[str, Any]) -> PolicyModel | None:
    """The valid parts of a policy whose whole failed validation, enough to check its tiers and checks."""
    raw_tiers = value.get("tiers")
    if not isinstance(raw_tiers, dict):
        return None
    tiers: dict[str, TierModel | None] = {}
    for name, raw in raw_tiers.items():
        if raw is None:
            tiers[name] = None
        elif (tier := _valid_part(TierModel, raw, {"description": "-"})) is not None:
            tiers[name] = tier
    domains = value.get("domains")
    if not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
        # unreadable domains were reported already; do not report every tier's domain against them too
        domains = sorted({d for t in tiers.values() if t for c in t.assign_when for d in c.domain or []})
    return PolicyModel.model_construct(policy=None, domains=domains, tiers=tiers, incident_checklist=[])


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top, mappings merged key by key."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _resolve_tiers(model: PolicyModel, doc: YamlDoc, problems: list[str]) -> dict[str, Tier]:
    if not model.tiers:
        problems.append(f"{doc.where(('tiers',))}: the policy defines no tiers; define at least one (low, medium, high, ...)")
        return {}
    raw: dict[str, TierModel] = {}
    for name, tm in model.tiers.items():
        if tm is None:
            problems.append(f"{doc.where(('tiers', name))}: the tier is empty; give at least its description and checks")
        else:
            raw[str(name)] = tm
    for name, tm in raw.items():
        if tm.extends is not None and tm.extends not in model.tiers:
            problems.append(f"{doc.where(('tiers', name, 'extends'))}: extends tier {tm.extends!r}, which is not defined; "
                            f"the tiers are: {', '.join(map(str, model.tiers))}")
        for i, cond in enumerate(tm.assign_when):
            for d in cond.domain or []:
                if d not in model.domains:
                    problems.append(f"{doc.where(('tiers', name, 'assign_when', i, 'domain'))}: domain {d!r} is not in the "
                                    f"policy's domains list ({', '.join(model.domains)}); add it there or fix the spelling")
    if any(tm.assign_when for tm in raw.values()) and all(tm.assign_when for tm in raw.values()):
        problems.append(f"{doc.where(('tiers',))}: every tier has assign_when, so a model matching none gets no tier; "
                        f"leave assign_when out of the last (lowest) tier")

    def chain(name: str) -> list[str]:
        seen: list[str] = []
        while name is not None and name in raw and name not in seen:
            seen.append(name)
            name = raw[name].extends
        if name is not None and name in seen:
            problems.append(f"{doc.where(('tiers', seen[0], 'extends'))}: tiers extend each other in a circle "
                            f"({' -> '.join(seen + [name])})")
        return seen

    out: dict[str, Tier] = {}
    for name, tm in raw.items():
        lineage = chain(name)
        settings = dict(TIER_DEFAULTS)
        checks: dict[str, tuple[dict[str, Any], tuple]] = {}
        for ancestor in reversed(lineage):
            am = raw[ancestor]
            for key in TIER_DEFAULTS:
                if key in ("guard", "monitor", "incident_response_hours"):  # merged section by section: a child tier overrides what it names
                    settings[key] = _merged(settings[key] or {}, getattr(am, key) or {})
                elif getattr(am, key) is not None:
                    settings[key] = getattr(am, key)
            for check_name, params in am.checks.items():
                checks[check_name] = (params or {}, ("tiers", ancestor, "checks", check_name))
        resolved: dict[str, CheckParams] = {}
        for check_name, (params, path) in checks.items():
            # An inherited entry is reported once, at its own tier's line, not again for every child.
            own = path[1] == name
            check = CHECKS.get(check_name)
            if check is None:
                if own:
                    close = difflib.get_close_matches(check_name, list(CHECKS), n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    problems.append(f"{doc.where(path)}: unknown check; {hint}the checks are: {', '.join(sorted(CHECKS))}")
                continue
            try:
                resolved[check_name] = check.params.model_validate(params)
            except ValidationError as exc:
                if own:
                    problems.extend(problems_from_validation(exc, doc, check.params, prefix=path))
        out[name] = Tier(
            name=name, description=tm.description, conditions=tuple(tm.assign_when),
            min_group_size=settings["min_group_size"], confidence=settings["confidence"], alpha=settings["alpha"],
            require_significance=settings["require_significance"], checks=resolved,
            sign_off=tuple(settings["sign_off"]), extends=tm.extends,
            distinct_signers=settings["distinct_signers"], require_reproduction=settings["require_reproduction"],
            guard=settings["guard"] or {}, monitor=settings["monitor"] or {}, min_cell=settings["min_cell"],
            reaudit_days=settings["reaudit_days"], incident_response_hours=dict(settings["incident_response_hours"]),
        )
    return out



def write_starter_files(directory: str | Path) -> list[Path]:
    """Write a commented ``policy.yaml`` (the default policy) and ``model_card.yaml`` into ``directory``.

    Refuses, writing nothing, when either file exists already.
    """
    folder = Path(directory)
    sources = {
        "policy.yaml": default_policy_path(),
        "model_card.yaml": Path(str(resources.files("steward.audit.card") / "model_card.yaml")),
    }
    targets = [folder / name for name in sources]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise PolicyError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; Steward does not "
                          f"overwrite them; move them away or run steward init in another folder")
    if folder.exists() and not folder.is_dir():
        raise PolicyError(f"{str(folder)!r} is a file, not a folder; give a folder for the starter files")
    folder.mkdir(parents=True, exist_ok=True)
    for (name, src), target in zip(sources.items(), targets):
        with open(target, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(src.read_text(encoding="utf-8"))
    return targets
