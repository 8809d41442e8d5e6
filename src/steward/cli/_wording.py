"""Library messages in the words of the command line.

The library speaks to Python callers (``pass prediction=COLUMN``, ``features=[...]``); a person at the
command line typed options, so the error line they read names the option instead (``--prediction COL``).
Each rule rewrites one spelling the library uses; a message without one is left as it is.
"""

from __future__ import annotations

import re

__all__ = ["cli_wording"]


def _listed(match: re.Match[str]) -> str:
    names = re.findall(r"'((?:[^'\\]|\\.)*)'", match.group(1))
    return "--features " + (",".join(names) if names else "a,b,c")


def _protected(match: re.Match[str]) -> str:
    pairs = re.findall(r"'([^']*)': '([^']*)'", match.group(1))
    return " ".join(f"--protected {k}={v}" for k, v in pairs) or "--protected COL=REFERENCE"


# (pattern, replacement), applied in order; the first ones drop the Python spelling where the message
# already gives the option in brackets
_RULES: list[tuple[re.Pattern[str], object]] = [(re.compile(p), r) for p, r in [
    (r"positive_label=(['\"]?)(.*?)\1 \(CLI:? --positive-label\)", r"--positive-label \2"),
    (r"\bpositive_label \(CLI:? --positive-label\)", "--positive-label"),
    (r"\bpositive_label ('[^']*'|\S+) does not occur", r"--positive-label \1 does not occur"),
    (r"\btrust_pickle=True \(CLI:? --trust-pickle\)", "--trust-pickle"),
    (r"\btrusted_types=\[\.\.\.\] \(CLI:? --trust-type NAME\)", "--trust-type NAME"),
    (r"\bfeatures=\[\.\.\.\] \(CLI:? --features a,b,c\)", "--features a,b,c"),
    (r"\bfeatures \(--features a,b,c\)", "--features a,b,c"),
    (r"\bfeatures=\[\.\.\.\]", "--features a,b,c"),
    (r"\bfeatures=\[((?:'[^']*'(?:, )?)*)\]", _listed),
    (r"\bprotected=\{((?:'[^']*': '[^']*'(?:, )?)*)\}", _protected),
    (r"\bpass prediction=COLUMN\b", "give --prediction COL"),
    (r"\bpass either prediction=COLUMN\b", "give either --prediction COL"),
    (r"\bprediction=COLUMN\b", "--prediction COL"),
    (r"\bscore=COLUMN\b", "--score COL"),
    (r"\bscore='([^']*)'", r"--score \1"),
    (r"\bthreshold=T\b", "--threshold T"),
    (r"\bgive encodings=\{'([^']*)': column\}", r"give --encoding \1=COLUMN"),
    (r"^encodings name\b", "--encoding names"),
    (r"^ranges name\b", "--range names"),
    (r"^range of '([^']*)'", r"--range \1"),
    (r"^immutable name\b", "--immutable names"),
    (r"\bsha256=(['\"]?)(\S*?)\1 is not a SHA-256", r"--model-sha256 \2 is not a SHA-256"),
    (r"\bleave (min_group_size|confidence) out\b", lambda m: f"leave --{m.group(1).replace('_', '-')} out"),
    (r"^(min_group_size|confidence) is\b", lambda m: f"--{m.group(1).replace('_', '-')} is"),
]]


def cli_wording(message: str) -> str:
    """``message`` with the library's Python spellings replaced by the command line's options."""
    for pattern, replacement in _RULES:
        message = pattern.sub(replacement, message)
    return message
