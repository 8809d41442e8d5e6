"""What the registry needs of a stored ``report.json``, checked before anything is written.

A report arrives from a client (``steward audit --register --server``), so it is validated: the
parts the registry reads must be there with the right types, and its verdict must follow from its
own findings — a report that says ``passed: true`` while a finding fails is refused, since
approval rests on that verdict.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.audit import SCHEMA, STATUSES
from steward.audit._findings import BLOCKING
from steward.errors import StewardError

__all__ = ["check_report"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Finding(_Open):
    id: str = Field(max_length=1000)
    check: str = Field(max_length=100)
    status: Literal[STATUSES]  # type: ignore[valid-type]
    severity: str = Field(max_length=20)
    value: float | None = None
    threshold: dict[str, Any] | None = None
    metric: str | None = None


class _Policy(_Open):
    name: str
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    tier: str


class _Source(_Open):
    rows: int | None = None
    sha256: str | None = None


class _Report(_Open):
    schema_: Literal[SCHEMA] = Field(alias="schema")  # type: ignore[valid-type]
    passed: bool | None
    policy: _Policy | None
    findings: list[_Finding]
    source: _Source
    roles: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    analyses: dict[str, Any] | None = None
    cells: list[Any] | None = None
    groups: list[Any] | None = None
    card_info: dict[str, Any] | None = None
    created: str | None = None


def check_report(report: Any) -> None:
    if not isinstance(report, dict):
        raise StewardError(f"report must be the JSON object of a Steward report.json, got {type(report).__name__}")
    try:
        parsed = _Report.model_validate(report)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StewardError(f"report.{where}: {first['msg']}; send the report.json that steward audit wrote "
                           f"(schema {SCHEMA!r})") from None
    failing = sum(f.status in BLOCKING for f in parsed.findings)
    expected = None if parsed.policy is None else failing == 0
    if parsed.passed != expected:
        raise StewardError(f"report.passed is {parsed.passed} but its findings say {expected} "
                           f"({failing} failing, policy {'absent' if parsed.policy is None else 'present'}); "
                           f"the verdict must follow from the findings")
