"""The bare apps of ``bench/serving.py``: the same LightGBM model behind FastAPI, as a developer would
write it without Steward (no key, no checks, no log).

``POST /predict`` with ``{"row": {...}}`` answers ``{"score": s}``; with ``{"rows": [...]}`` it answers
``{"scores": [...]}``. The model file is ``$BARE_MODEL``.

* ``app``, the bare app of the issue's targets: the rows become a pandas DataFrame with the categorical
  columns as pandas categories of the training categories, and ``booster.predict`` scores the frame.
* ``lean``, for information: the rows become a float64 matrix directly (category -> its code among the
  training categories), the way Steward's scorer reads them, with no DataFrame per request.

Served by ``bench/serving.py`` as::

    BARE_MODEL=model.txt uvicorn _bare_app:app --app-dir bench --workers 1 --log-level warning --no-access-log
"""

from __future__ import annotations

import os

import lightgbm as lgb
import numpy as np
import pandas as pd
from fastapi import FastAPI, Request

booster = lgb.Booster(model_file=os.environ["BARE_MODEL"])
FEATURES = booster.feature_name()
# the columns that were pandas categories in training, with the categories the model was trained on
CATEGORICAL = ["workclass", "marital-status", "occupation", "relationship", "race", "sex"]
CATEGORIES = dict(zip(CATEGORICAL, booster.pandas_categorical))

app = FastAPI()


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=FEATURES)
    for column, categories in CATEGORIES.items():
        df[column] = pd.Categorical(df[column], categories=categories)
    return df


@app.post("/predict")
async def predict(request: Request) -> dict:
    body = await request.json()
    if "rows" in body:
        return {"scores": booster.predict(frame(body["rows"])).tolist()}
    return {"score": float(booster.predict(frame([body["row"]]))[0])}


lean = FastAPI()
CODES = [{v: i for i, v in enumerate(CATEGORIES[f])} if f in CATEGORIES else None for f in FEATURES]


def matrix(rows: list[dict]) -> np.ndarray:
    X = np.empty((len(rows), len(FEATURES)))
    for i, row in enumerate(rows):
        for j, (f, codes) in enumerate(zip(FEATURES, CODES)):
            v = row.get(f)
            X[i, j] = np.nan if v is None else v if codes is None else codes.get(v, np.nan)
    return X


@lean.post("/predict")
async def predict_lean(request: Request) -> dict:
    body = await request.json()
    if "rows" in body:
        return {"scores": booster.predict(matrix(body["rows"])).tolist()}
    return {"score": float(booster.predict(matrix([body["row"]]))[0])}
