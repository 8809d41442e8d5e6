"""Models in the loop: score data with a scikit-learn, LightGBM, XGBoost or ONNX model, or a Python
function, through one interface; load model files safely (pickle and joblib refused unless trusted,
skops types checked, the SHA-256 of every file taken before it is read).

>>> from steward.models import load_model, wrap_model
>>> model = load_model("model.onnx", sha256="9f86d0...")  # doctest: +SKIP
>>> model.score(frame)  # probability of class 1, one per row  # doctest: +SKIP
>>> wrap_model(fitted_pipeline).predict(frame, threshold=0.5)  # 0/1 decisions  # doctest: +SKIP
"""

from steward.errors import TamperedModelError, UnsafeModelError
from steward.models._adapters import KINDS, ArtifactInfo, Model, wrap_model
from steward.models._loading import FORMATS, ModelFileError, file_sha256, load_model, save_model

__all__ = ["FORMATS", "KINDS", "ArtifactInfo", "Model", "ModelFileError", "TamperedModelError", "UnsafeModelError",
           "file_sha256", "load_model", "save_model", "wrap_model"]
