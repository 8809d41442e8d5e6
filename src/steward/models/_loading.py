"""Loading model files safely: formats that cannot run code by default, pickle only when trusted,
and the SHA-256 of every file taken before it is loaded."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steward.errors import DataValidationError, StewardError, TamperedModelError, UnsafeModelError
from steward.models._adapters import ArtifactInfo, Model, one_line, require, wrap_model

__all__ = ["FORMATS", "load_model", "file_sha256", "save_model"]

# suffix -> format name
FORMATS = {".skops": "skops", ".txt": "lightgbm-text", ".lgb": "lightgbm-text", ".json": "xgboost-json",
           ".ubj": "xgboost-ubj", ".onnx": "onnx", ".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib"}
_UNSAFE = {"pickle", "joblib"}


class ModelFileError(StewardError):
    """A model file could not be read as the format its name says."""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (model files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_model(
    path: str | Path,
    *,
    trust_pickle: bool = False,
    sha256: str | None = None,
    trusted_types: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
) -> Model:
    """Load a model file, choosing the reader by its suffix, without running code it may contain.

    ``.skops`` is read by skops, which refuses types it does not trust by default; ``.txt``/``.lgb`` is
    LightGBM's text format; ``.json``/``.ubj`` XGBoost's; ``.onnx`` runs in onnxruntime on the CPU.
    ``.pkl``/``.pickle``/``.joblib`` files run any code they contain when loaded, so they are refused
    unless ``trust_pickle=True``. The file's SHA-256 is computed before anything reads it as a model.

    Parameters
    ----------
    path : str or Path
        The model file.
    trust_pickle : bool
        Load pickle and joblib files (only ones you made, or whose SHA-256 you checked).
    sha256 : str, optional
        The hex SHA-256 the file must have; when it differs the file is not loaded.
    trusted_types : list of str, optional
        Type names a ``.skops`` file may contain beyond skops' defaults (check them first).
    features : list of str, optional
        The data columns the model reads, in its order (see :func:`wrap_model`).

    Returns
    -------
    Model
        With ``artifact`` set to the file's path, format, SHA-256 and size.

    Raises
    ------
    DataValidationError
        The file does not exist, its suffix is not supported, or ``sha256`` is not 64 hex digits.
    TamperedModelError
        The file's SHA-256 is not ``sha256``.
    UnsafeModelError
        A pickle or joblib file without ``trust_pickle=True``; a skops file with untrusted types.
    ModelFileError
        The file cannot be read as the format its suffix says.
    MissingExtraError
        The library that reads the format is not installed.

    Examples
    --------
    >>> from steward.models import load_model
    >>> model = load_model("model.onnx", sha256="9f86d0...")  # doctest: +SKIP
    >>> model.artifact.format, model.score(frame)[:3]  # doctest: +SKIP
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise DataValidationError(f"model file {str(p)!r}: unknown suffix {p.suffix!r}; supported: "
                                  f"{', '.join(sorted(FORMATS))}")
    if not p.is_file():
        raise DataValidationError(f"model file {str(p)!r} does not exist; check the path")
    expected = None if sha256 is None else sha256.strip().lower()
    if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise DataValidationError(f"sha256={sha256!r} is not a SHA-256: give the 64 hex digits of the file's hash "
                                  f"(e.g. from `sha256sum {p.name}`)")
    digest = file_sha256(p)
    if expected is not None and digest != expected:
        raise TamperedModelError(f"model file {str(p)!r} has SHA-256 {digest}, not the expected {expected}: it "
                                 "changed since its hash was recorded, so it was not loaded; check where it came from")
    if fmt in _UNSAFE and not trust_pickle:
        raise UnsafeModelError(
            f"model file {str(p)!r} is a {fmt} file: loading one runs any code it contains, so Steward refuses it "
            f"by default. Load it only if you made it yourself or checked its SHA-256 ({digest}), by passing "
            f"trust_pickle=True (CLI: --trust-pickle); better, save the model as .skops, LightGBM text, "
            f"XGBoost JSON/UBJ or ONNX")
    info = ArtifactInfo(path=str(p), format=fmt, sha256=digest, size=p.stat().st_size)
    obj = _read(p, fmt, trusted_types)
    model = wrap_model(obj, features=features)
    model.artifact = info
    return model


def _read(p: Path, fmt: str, trusted_types: Sequence[str] | None) -> Any:
    if fmt == "skops":
        sio = require("skops.io")
        try:
            untrusted = sio.get_untrusted_types(file=p)
        except Exception as exc:  # noqa: BLE001 - any failure to parse is a bad file
            raise ModelFileError(f"model file {str(p)!r} could not be read as skops: {one_line(exc)}") from None
        extra = [t for t in untrusted if t not in set(trusted_types or ())]
        if extra:
            raise UnsafeModelError(
                f"model file {str(p)!r} contains types skops does not trust by default: {', '.join(extra)}. "
                f"Check that they are what you expect, then pass trusted_types=[...] (CLI: --trust-type NAME)")
        return _guarded(lambda: sio.load(p, trusted=list(untrusted)), p, fmt)
    if fmt == "lightgbm-text":
        lgb = require("lightgbm")

        def booster() -> Any:
            import contextlib
            import io

            # LightGBM prints "[LightGBM] [Fatal] ..." before raising: the error says it once
            with contextlib.redirect_stdout(io.StringIO()):
                return lgb.Booster(model_file=str(p))

        return _guarded(booster, p, fmt)
    if fmt in ("xgboost-json", "xgboost-ubj"):
        xgb = require("xgboost")

        def load() -> Any:
            b = xgb.Booster()
            b.load_model(str(p))
            return b

        return _guarded(load, p, fmt)
    if fmt == "onnx":
        ort = require("onnxruntime")
        return _guarded(lambda: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]), p, fmt)
    if fmt == "joblib":
        joblib = require("joblib")
        return _guarded(lambda: joblib.load(p), p, fmt)
    import pickle

    def unpickle() -> Any:
        with open(p, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - only with trust_pickle=True

    return _guarded(unpickle, p, fmt)


def _guarded(fn: Any, p: Path, fmt: str) -> Any:
    try:
        return fn()
    except StewardError:
        raise
    except Exception as exc:  # noqa: BLE001 - libraries raise anything on a bad file
        raise ModelFileError(f"model file {str(p)!r} could not be read as {fmt}: {one_line(exc)}") from None


def save_model(model: Any, path: str | Path) -> Path:
    """Save a fitted model in a format :func:`load_model` reads without running code.

    ``.txt``/``.lgb``: LightGBM's text format (a LightGBM ``Booster`` or ``LGBMClassifier``/``LGBMRegressor``);
    ``.json``/``.ubj``: XGBoost's; ``.skops``: any scikit-learn estimator or pipeline (types beyond
    skops' defaults then need ``trusted_types`` to load).

    Returns
    -------
    Path
        Where the model was written.

    Examples
    --------
    >>> from steward.models import save_model
    >>> save_model(fitted_lgbm_classifier, "chosen.txt")  # doctest: +SKIP
    PosixPath('chosen.txt')
    """
    p = Path(path)
    obj = model.obj if isinstance(model, Model) else model
    fmt = FORMATS.get(p.suffix.lower())
    mods = {c.__module__.split(".")[0] for c in type(obj).__mro__}
    name = type(obj).__name__
    if fmt == "lightgbm-text":
        if "lightgbm" not in mods:
            raise DataValidationError(f"a {name} is not a LightGBM model: save it as .skops")
        booster = obj.booster_ if hasattr(obj, "booster_") else obj
        writer = lambda: booster.save_model(str(p))  # noqa: E731
    elif fmt in ("xgboost-json", "xgboost-ubj"):
        if "xgboost" not in mods:
            raise DataValidationError(f"a {name} is not an XGBoost model: save it as .skops")
        writer = lambda: obj.save_model(str(p))  # noqa: E731
    elif fmt == "skops":
        sio = require("skops.io")
        writer = lambda: sio.dump(obj, p)  # noqa: E731
    else:
        raise DataValidationError(f"model file {str(p)!r}: save as .skops (scikit-learn), .txt (LightGBM) or "
                                  f".json/.ubj (XGBoost), never as a pickle")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        writer()
    except OSError as exc:
        raise StewardError(f"cannot write the model to {str(p)!r}: {exc.strerror or exc}") from None
    return p
