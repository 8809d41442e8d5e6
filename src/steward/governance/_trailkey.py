"""Where the trail's HMAC key comes from. It is kept outside the database, so that someone who can
write the database cannot also re-sign the trail.

In order: the key given to :class:`Registry`; ``STEWARD_TRAIL_KEY`` (a string of at least 32
characters); a key file, ``STEWARD_TRAIL_KEY_FILE`` if set, else ``<database file>.trail-key`` beside a
SQLite database, else ``.steward/trail.key`` under the current folder (PostgreSQL). The key file is
created (mode 0600, 32 random bytes as hex) only while the trail has no keyed entry: once it has, a
missing key is an error, never a new key.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from pathlib import Path

from sqlalchemy import Engine

from steward.errors import StewardError

__all__ = ["find_key", "key_existed", "key_file_path", "MIN_KEY_CHARS"]

MIN_KEY_CHARS = 32
ENV_KEY, ENV_FILE = "STEWARD_TRAIL_KEY", "STEWARD_TRAIL_KEY_FILE"


def key_file_path(engine: Engine) -> Path | None:
    """The key file for this database (None for an in-memory SQLite database, which has no file)."""
    if os.environ.get(ENV_FILE):
        return Path(os.environ[ENV_FILE]).expanduser()
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        db = Path(url.database).resolve()
        return db.with_name(db.name + ".trail-key")
    return Path.cwd() / ".steward" / "trail.key"


def _as_key(value: bytes | str, what: str) -> bytes:
    key = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if len(key) < MIN_KEY_CHARS:
        raise StewardError(f"{what} is too short for a trail key: it has {len(key)} characters, it needs at "
                           f"least {MIN_KEY_CHARS} (for example the output of `python -c \"import secrets; "
                           f"print(secrets.token_hex(32))\"`)")
    return key


def key_existed(engine: Engine, given: bytes | str | None) -> bool:
    """Whether a key for this database existed before this open: in the environment or a key file
    (a key handed over by the caller counts as new: it is the caller's decision)."""
    if given is not None:
        return False
    if os.environ.get(ENV_KEY):
        return True
    path = key_file_path(engine)
    return path is not None and path.exists()


def find_key(engine: Engine, given: bytes | str | None, keyed: bool) -> bytes:
    """The trail key for this database. ``keyed``: whether its trail already has keyed entries."""
    if given is not None:
        return _as_key(given, "the trail_key given to Registry")
    if os.environ.get(ENV_KEY):
        return _as_key(os.environ[ENV_KEY], f"the environment variable {ENV_KEY}")
    path = key_file_path(engine)
    if path is None:
        # An in-memory database disappears with its process, and so may its key.
        return secrets.token_hex(32).encode("ascii")
    if path.exists():
        return _read_key_file(path)
    if keyed:
        raise StewardError(f"this registry's trail is keyed, but its key was not found: looked for {ENV_KEY} and the "
                           f"key file {path}; restore the key file there, or point {ENV_FILE} at it, or set {ENV_KEY}")
    return _create_key_file(path)


def _read_key_file(path: Path) -> bytes:
    try:
        if os.name != "nt" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise StewardError(f"the trail key file {path} can be read by other users; run `chmod 600 {path}`")
        for _ in range(50):  # another process may have just created it and not yet written the key
            text = path.read_text(encoding="utf-8").strip()
            if text:
                break
            time.sleep(0.02)
    except OSError as exc:
        raise StewardError(f"cannot read the trail key file {path}: {exc.strerror or exc}") from None
    return _as_key(text, f"the trail key file {path}")


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)  # another process made it first
    except OSError as exc:
        raise StewardError(f"cannot create the trail key file {path}: {exc.strerror or exc}; set {ENV_FILE} to a "
                           f"file in a folder you can write to, or {ENV_KEY} to a key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key.encode("ascii")
