"""What the API accepts, stated once: names, lengths, ranges, enums and storable text.

Each limit mirrors what the registry stores (``String(N)`` columns in ``governance/_tables.py``,
32-bit integer ids, ``_NAME`` for model and version names), so a value the database would refuse
is refused here first with a 400 naming the field, and the OpenAPI document states the same rule.
Text that no database can hold as text (a NUL character, an unpaired surrogate) is refused in any
string, at any depth of a JSON object, in the body or the query.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from steward.errors import StewardError
from steward.governance import ROLES, SEVERITIES
from steward.governance._incidents import STATUSES
from steward.governance._refused import text_problem
from steward.governance._registry import _NAME
from steward.governance._workflow import DECISIONS

__all__ = ["MODEL_STATUSES", "ID_MAX", "PATTERN_HELP", "In", "Text", "JsonObject", "ModelName", "VersionName",
           "Role", "Severity", "IncidentStatus", "ModelStatus", "Decision", "Sha256", "NamePath", "VersionPath",
           "IdPath", "KeyIdPath", "TextQuery", "known_query_parameters"]

MODEL_STATUSES = ("in_development", "in_review", "approved")
ID_MAX = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL
NAME_PATTERN = _NAME.pattern
_NAME_HELP = "letters, digits, '.', '_' or '-', starting with a letter or digit"
_SHA256 = r"^[0-9a-f]{64}$"
_KEY_ID = r"^[A-Za-z0-9_-]+$"
# What to say when a value does not match one of these patterns.
PATTERN_HELP = {
    NAME_PATTERN: f"is not allowed: use {_NAME_HELP}",
    _SHA256: "must be a SHA-256: 64 lowercase hex digits",
    _KEY_ID: "is not a key id: those are letters, digits, '_' or '-' (the part after stw_)",
}


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError("text_unstorable", problem)
    return value


def _storable_tree(value: Any) -> Any:
    """Every key and string in a JSON value must be storable text, every number finite."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # iterative: a deeply nested document must not exhaust the stack
        where, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, float) and not math.isfinite(item):
            problem = "is not a finite number (NaN and Infinity are not JSON); send a number or null"
        else:
            problem = None
        if problem:
            raise PydanticCustomError("value_unstorable", "{where} {problem}",
                                      {"where": f"at {where[1:]}" if where else "the value", "problem": problem})
        if isinstance(item, dict):
            for k, v in item.items():
                if text_problem(str(k)):
                    raise PydanticCustomError("key_unstorable", "a key at {where} {problem}",
                                              {"where": where[1:] or "the top", "problem": text_problem(str(k))})
                stack.append((f"{where}.{k}", v))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
    return value


def Text(max_length: int | None = None, **field: Any) -> Any:  # noqa: N802 - used like a type
    """A string the registry can store: at most ``max_length`` characters (None: a Text column)."""
    return Annotated[str, Field(max_length=max_length, **field), AfterValidator(_storable)]


JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_tree)]
ModelName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=200, description=f"a model name: {_NAME_HELP}, "
                                 "at most 200 characters")]
VersionName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100, description=f"a version: {_NAME_HELP}, "
                                   "at most 100 characters")]
Sha256 = Annotated[str, Field(pattern=_SHA256, description="a SHA-256: 64 lowercase hex digits")]
Role = Literal[ROLES]
Severity = Literal[SEVERITIES]
IncidentStatus = Literal[STATUSES]
ModelStatus = Literal[MODEL_STATUSES]
Decision = Literal[DECISIONS]

NamePath = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200, description=f"the model's name ({_NAME_HELP})")]
VersionPath = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100, description=f"the version ({_NAME_HELP})")]
IdPath = Annotated[int, Path(ge=1, le=ID_MAX, description=f"a whole number from 1 to {ID_MAX}")]
KeyIdPath = Annotated[str, Path(pattern=_KEY_ID, max_length=32, description="the key's public id")]


def TextQuery(max_length: int, description: str) -> Any:  # noqa: N802 - used like a type
    """An optional query parameter holding storable text of at most ``max_length`` characters."""
    return Annotated[str | None, Query(max_length=max_length, description=description), AfterValidator(
        lambda v: v if v is None else _storable(v))]


def _query_names(route: Any) -> set[str]:
    """The query parameters a route takes: its own and its dependencies'."""
    found, todo = set(), [route.dependant]
    while todo:
        dependant = todo.pop()
        found.update(field.alias for field in dependant.query_params)
        todo.extend(dependant.dependencies)
    return found


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n[:40]) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def known_query_parameters(request: Request) -> None:
    """Dependency of every API route: an unknown query parameter, or one given twice, is refused.

    Starlette keeps every value and FastAPI would silently read one of them or none; no API
    parameter is a list, so a second value is a mistake, as is a misspelt name.
    """
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(n for n, c in counts.items() if c > 1)
    if repeated:
        raise StewardError(f"query parameter {_names(repeated)} is given more than once; give it once")
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    known = _query_names(route)
    unknown = sorted(set(counts) - known)
    if unknown:
        takes = f"it takes: {', '.join(sorted(known))}" if known else "it takes none"
        raise StewardError(f"unknown query parameter {_names(unknown)} for {request.method} "
                           f"{route.path}; {takes}")


class In(BaseModel):
    """Base of every request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")
