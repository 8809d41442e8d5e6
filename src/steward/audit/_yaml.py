"""YAML with line numbers, and pydantic errors turned into ``file:line: key: message`` lines.

Policy and card-info files are written by people; when one is wrong the message must point at
the line. PyYAML's node tree has the marks, so the file is composed once, every key's line is
recorded by its path (``("tiers", "high", "checks")``), and the Python value is built from the
same nodes, which also catches a key written twice (plain ``safe_load`` keeps the last silently).
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from steward.errors import PolicyError

__all__ = ["YamlDoc", "read_yaml", "problems_from_validation", "raise_problems"]

Path_ = tuple[Any, ...]


class YamlDoc:
    """The value of a YAML file and the line of every key (1-based), by path."""

    def __init__(self, value: Any, lines: dict[Path_, int], name: str, text: str = "") -> None:
        self.value = value
        self.lines = lines
        self.name = name
        self.text = text

    def line(self, path: Path_) -> int:
        """Line of the longest prefix of ``path`` that is in the file (the parent of a missing key)."""
        for i in range(len(path), -1, -1):
            if path[:i] in self.lines:
                return self.lines[path[:i]]
        return 1

    def where(self, path: Path_) -> str:
        key = dotted(path)
        return f"{self.name}:{self.line(path)}: {key}" if key else f"{self.name}:{self.line(path)}"


def dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out


def read_yaml(source: str | Path, *, what: str) -> YamlDoc:
    """Parse a YAML file (or text, when ``source`` is a str with a newline) with key lines."""
    if isinstance(source, Path) or "\n" not in str(source):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{what} file {str(path)!r} does not exist; check the path") from None
        except IsADirectoryError:
            raise PolicyError(f"{what} file {str(path)!r} is a folder; give the path of a YAML file") from None
        except UnicodeDecodeError:
            raise PolicyError(f"{what} file {str(path)!r} is not UTF-8 text; save it as UTF-8 YAML") from None
        name = str(path)
    else:
        text, name = str(source), f"<{what}>"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{name}{line}: not valid YAML: {problem}") from None
    if node is None:
        raise PolicyError(f"{name}: the {what} file is empty")
    lines: dict[Path_, int] = {}
    constructor = yaml.SafeLoader("")
    value = _build(node, (), lines, constructor, name)
    return YamlDoc(value, lines, name, text)


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], constructor: yaml.SafeLoader, name: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise PolicyError(f"{name}:{key_node.start_mark.line + 1}: {dotted(path)}: a key must be a plain word")
            if key in out:
                raise PolicyError(
                    f"{name}:{key_node.start_mark.line + 1}: {dotted(path + (key,))}: the key is written twice "
                    f"(first on line {lines[path + (key,)]}); keep one"
                )
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines, constructor, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, constructor, name) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)


def _field_names(model: Any, loc: Path_) -> list[str]:
    """The keys allowed at ``loc`` inside ``model`` (for 'did you mean' on unknown keys)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            tp = field.annotation
        elif typing.get_origin(tp) in (dict, list, tuple):
            args = typing.get_args(tp)
            tp = args[-1] if args else Any
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or k for k, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """``X | None`` → X."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def problems_from_validation(exc: ValidationError, doc: YamlDoc, model: Any, prefix: Path_ = ()) -> list[str]:
    """One ``file:line: key: message`` line per pydantic error, in file order."""
    out: list[tuple[int, str]] = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        kind = err["type"]
        if kind == "extra_forbidden":
            allowed = _field_names(model, loc[len(prefix):-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            msg = f"unknown key; {hint}the keys allowed here are: {', '.join(allowed)}" if allowed else "unknown key"
        elif kind == "missing":
            msg = "this key is required but missing"
        else:
            msg = err["msg"]
            if "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
        out.append((doc.line(loc), f"{doc.where(loc)}: {msg}"))
    return [m for _, m in sorted(out, key=lambda t: t[0])]


def raise_problems(problems: list[str], doc: YamlDoc, what: str) -> None:
    if not problems:
        return
    if len(problems) == 1:
        raise PolicyError(problems[0])
    head = f"{doc.name} is not a valid {what} ({len(problems)} problems):"
    raise PolicyError("\n".join([head, *problems]))
