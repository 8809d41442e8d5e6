"""Models in the loop: one interface to score data with scikit-learn, LightGBM, XGBoost, ONNX models
and Python callables, and safe loading of model files (pickle refused unless trusted; SHA-256 recorded).

>>> from steward.models import load_model
>>> model = load_model("model.onnx")  # doctest: +SKIP
>>> model.score(frame)  # probability of class 1  # doctest: +SKIP
"""

from steward.errors import TamperedModelError, UnsafeModelError
from steward.models._adapters import KINDS, ArtifactInfo, Model, wrap_model
from steward.models._loading import FORMATS, ModelFileError, file_sha256, load_model

__all__ = ["FORMATS", "KINDS", "ArtifactInfo", "Model", "ModelFileError", "TamperedModelError", "UnsafeModelError",
           "file_sha256", "load_model", "wrap_model"]
