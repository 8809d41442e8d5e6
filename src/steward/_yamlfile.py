"""Reading a small YAML settings file given by a user (reasons, constraints, scenarios), with the
errors a user can act on. Policies have their own loader with line numbers (``steward.audit.policy``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from steward.errors import DataValidationError

__all__ = ["read_yaml"]


def read_yaml(source: Any, what: str) -> tuple[Any, str]:
    """``(content, where)``: a path is read as YAML (``what`` names it in errors: "reasons file"); any
    other object is returned as it is, with ``where = "(in memory)"``."""
    if not isinstance(source, (str, Path)):
        return source, "(in memory)"
    import yaml

    where = str(source)
    try:
        return yaml.safe_load(Path(source).read_text(encoding="utf-8")), where
    except FileNotFoundError:
        raise DataValidationError(f"{what} {where!r} does not exist; check the path") from None
    except IsADirectoryError:
        raise DataValidationError(f"{what} {where!r} is a folder; give a YAML file") from None
    except yaml.YAMLError as exc:
        raise DataValidationError(f"{what} {where!r} is not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise DataValidationError(f"{what} {where!r} is not UTF-8 text; give a YAML file") from None
