"""Loading model files safely: formats that cannot run code by default, pickle only when trusted,
and the SHA-256 of every file taken before it is loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steward.errors import DataValidationError, StewardError, TamperedModelError, UnsafeModelError
from steward.models._adapters import ArtifactInfo, Model, require, wrap_model

__all__ = ["FORMATS", "load_model", "file_sha256"]

# suffix -> format name
FORMATS = {
    ".skops": "skops",
    ".txt": "lightgbm-text",
    ".lgb": "lightgbm-text",
    ".json": "xgboost-json",
    ".ubj": "xgboost-ubj",
    ".onnx": "onnx",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
}
_UNSAFE = {"pickle", "joblib"}


class ModelFileError(StewardError):
    """A model file could not be read as the format its name says."""


def file_sha256(path: Path) -> str:
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
    """Load a model file by its suffix, safely.

    ``.skops`` (scikit-learn, loaded by skops, which refuses types it does not know),
    ``.txt``/``.lgb`` (LightGBM text), ``.json``/``.ubj`` (XGBoost), ``.onnx`` (onnxruntime).
    ``.pkl``/``.pickle``/``.joblib`` can run any code when loaded, so they are refused unless
    ``trust_pickle=True``. The file's SHA-256 is computed before loading; when ``sha256`` is given
    and differs, the file is not loaded (:class:`~steward.errors.TamperedModelError`).

    Parameters
    ----------
    trusted_types : list of str, optional
        Type names a ``.skops`` file may contain beyond skops' defaults (check them first).
    features : list of str, optional
        The input columns, when the file does not name them.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise DataValidationError(f"model file {str(p)!r}: unknown suffix {p.suffix!r}; supported: "
                                  f"{', '.join(sorted(FORMATS))}")
    if not p.is_file():
        raise DataValidationError(f"model file {str(p)!r} does not exist; check the path")
    digest = file_sha256(p)
    if sha256 is not None and digest != sha256.strip().lower():
        raise TamperedModelError(f"model file {str(p)!r} has SHA-256 {digest}, not the expected {sha256.strip().lower()}: "
                                 "it changed since its hash was recorded; it was not loaded")
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
            raise ModelFileError(f"model file {str(p)!r} could not be read as skops: {_one_line(exc)}") from None
        extra = [t for t in untrusted if t not in set(trusted_types or ())]
        if extra:
            raise UnsafeModelError(
                f"model file {str(p)!r} contains types skops does not trust by default: {', '.join(extra)}. "
                f"Check that they are what you expect, then pass trusted_types=[...] (CLI: --trust-type NAME)")
        return _guarded(lambda: sio.load(p, trusted=list(untrusted)), p, fmt)
    if fmt == "lightgbm-text":
        lgb = require("lightgbm")
        return _guarded(lambda: lgb.Booster(model_file=str(p)), p, fmt)
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _guarded(fn: Any, p: Path, fmt: str) -> Any:
    try:
        return fn()
    except StewardError:
        raise
    except Exception as exc:  # noqa: BLE001 - libraries raise anything on a bad file
        raise ModelFileError(f"model file {str(p)!r} could not be read as {fmt}: {_one_line(exc)}") from None
