"""What a version was built with, captured when it is registered, so an audit can be reproduced."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

__all__ = ["capture_environment", "code_revision", "PACKAGES"]

# Packages whose versions change a model's numbers or Steward's; recorded when installed.
PACKAGES = ("steward", "numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "xgboost", "onnxruntime", "torch",
            "fairlearn", "shap", "interpret", "duckdb", "pyarrow")


def capture_environment() -> dict[str, Any]:
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": packages,
    }


def code_revision(cwd: str | None = None) -> str | None:
    """The git commit of the working tree (with ``+dirty`` when it has uncommitted changes), if any."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
