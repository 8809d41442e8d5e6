"""Name what a command is doing, so that an unexpected error can say where it happened.

    with stage("scoring the data with the model"):
        scores = model.score(frame)

An exception that leaves the block carries the innermost stage it passed through; the CLI turns an
unexpected one into one line that names it ("internal error while scoring the data with the model
(ValueError: ...)"). Every command also runs as a stage of its own (:func:`name_commands`), so an
error outside any named step still says which command failed ("internal error in `steward audit`").
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import click

__all__ = ["stage", "stage_of", "name_commands"]

_ATTRIBUTE = "_steward_stage"


def _mark(exc: BaseException, where: str) -> None:
    """Record ``where`` on the exception unless an inner stage already did."""
    if getattr(exc, _ATTRIBUTE, None) is None:
        try:
            setattr(exc, _ATTRIBUTE, where)
        except (AttributeError, TypeError):  # an exception type without a __dict__: its stage stays unknown
            pass


@contextmanager
def stage(what: str) -> Iterator[None]:
    """Run the block as the step ``what`` (a gerund phrase: "reading the data")."""
    try:
        yield
    except BaseException as exc:
        _mark(exc, f"while {what}")
        raise


def stage_of(exc: BaseException) -> str | None:
    """Where ``exc`` happened ("while reading the data", "in `steward audit`"), or None when unknown."""
    return getattr(exc, _ATTRIBUTE, None)


def name_commands(group: click.Group, path: str = "steward") -> None:
    """Make every command under ``group`` the outermost stage of what it runs ("in `steward models list`")."""
    for name, command in group.commands.items():
        full = f"{path} {name}"
        if isinstance(command, click.Group):
            name_commands(command, full)
        elif command.callback is not None and not getattr(command.callback, "_steward_named", False):
            command.callback = _named(command.callback, full)


def _named(callback, path: str):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except BaseException as exc:
            _mark(exc, f"in `{path}`")
            raise

    run._steward_named = True
    return run
