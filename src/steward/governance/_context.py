"""Where an audit ran: the CI service and run that recorded it, and whether the command gated on it.

``steward audit --register`` sends this with the report; the registry keeps it on the audit run, and the
standards console counts "bias tested in CI" from it. The registry cannot re-run a CI pipeline, so the
context is a claim, attributed to the principal whose key recorded the audit, and checked only for shape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.errors import StewardError

__all__ = ["run_context", "check_context", "CI_SERVICES"]

# (service, the variable that says the job runs there, the variables naming the run, its URL parts)
CI_SERVICES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("github-actions", "GITHUB_ACTIONS", ("GITHUB_REPOSITORY", "GITHUB_RUN_ID")),
    ("gitlab-ci", "GITLAB_CI", ("CI_PROJECT_PATH", "CI_PIPELINE_ID")),
    ("jenkins", "JENKINS_URL", ("JOB_NAME", "BUILD_NUMBER")),
    ("buildkite", "BUILDKITE", ("BUILDKITE_PIPELINE_SLUG", "BUILDKITE_BUILD_NUMBER")),
    ("circleci", "CIRCLECI", ("CIRCLE_PROJECT_REPONAME", "CIRCLE_BUILD_NUM")),
    ("azure-pipelines", "TF_BUILD", ("BUILD_REPOSITORY_NAME", "BUILD_BUILDID")),
)
# The variable holding the run's web address (GitHub Actions builds it from three).
_URL_VARS = {"gitlab-ci": "CI_PIPELINE_URL", "jenkins": "BUILD_URL", "buildkite": "BUILDKITE_BUILD_URL",
             "circleci": "CIRCLE_BUILD_URL"}


def _url(service: str, env: Mapping[str, str]) -> str | None:
    if service == "github-actions":
        parts = [env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
        return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None
    return env.get(_URL_VARS.get(service, "")) or None


def _ci(env: Mapping[str, str]) -> dict[str, Any] | None:
    for service, flag, parts in CI_SERVICES:
        if env.get(flag, "").strip().lower() not in ("", "false", "0"):
            return {"service": service, "run": "/".join(env[p] for p in parts if env.get(p)) or None,
                    "url": _url(service, env)}
    if env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return {"service": "ci", "run": None, "url": None}
    return None


def run_context(*, gate: bool, command: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The context of this process: the CI service and run (``None`` outside CI), whether ``command``
    gated on the audit's verdict (its exit code fails the job on a failing finding)."""
    return {"ci": _ci(os.environ if env is None else env), "gate": bool(gate), "command": command}


class _Ci(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=100)
    run: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://\S+$")


class _Context(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ci: _Ci | None = None
    gate: bool
    command: str = Field(min_length=1, max_length=200)


def check_context(context: Any) -> dict[str, Any] | None:
    """The context as stored, or a :class:`StewardError` naming the field that is wrong."""
    if context is None:
        return None
    if not isinstance(context, dict):
        raise StewardError(f"context must be an object with ci, gate and command, got {type(context).__name__}")
    try:
        return _Context.model_validate(context).model_dump()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StewardError(f"context.{where}: {first['msg']}; send what steward audit --register sends "
                           f"(ci: service, run, url or null; gate: true or false; command)") from None
