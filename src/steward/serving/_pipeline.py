"""The guard pipeline around one deployment: plain function calls, in this order, for each row.

throttle (per key, rows per second) → validate against the training profile (a :class:`FieldError`
names the field) → kill switch → screening (out of range, unseen category, anomalous, duplicate of the
same key's recent request, an exact training row) → sticky decisions → predict within the latency budget,
else the backup → compare with the benchmark → review conditions (score near the threshold, a screening
flag whose action is review, disagreement with the benchmark) → reason codes for adverse decisions →
the records for the log. Authentication happens before (the web layer), the durable write after: the
answer is released only once the records are committed.

Routes: ``model``, ``backup`` (the model failed or ran out of time), ``benchmark`` (the benchmark's
decision was taken on disagreement), ``review`` (a person decides; the interim decision is answered),
``kill_switch``, ``sticky`` (the same subject with the same inputs got this decision before), and
``refused`` (a screening flag whose action is refuse).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from steward.errors import Throttled
from steward.serving._profile import FieldError, Screen, TrainingProfile
from steward.serving._scorer import RowScorer
from steward.serving._settings import GuardSettings
from steward.serving._state import GuardState

__all__ = ["Guard", "Served", "Throttled", "new_prediction_id", "inputs_digest"]


_SEQ = itertools.count()


def new_prediction_id() -> str:
    """``p`` + milliseconds (12 hex digits) + this process's sequence number (4) + a random tail (8): ids sort
    by time, and a batch's rows keep their order."""
    return new_prediction_ids(1)[0]


def new_prediction_ids(n: int) -> list[str]:
    """``n`` ids (see :func:`new_prediction_id`), with one read of the system's random source."""
    head = f"p{time.time_ns() // 1_000_000:012x}"
    tail = secrets.token_hex(4 * n)
    return [f"{head}{next(_SEQ) % 65536:04x}{tail[8 * i:8 * i + 8]}" for i in range(n)]


def inputs_digest(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


@dataclass
class Model:
    """One model of a deployment: its scorer, registry reference and version id."""

    scorer: RowScorer
    ref: str
    version_id: int


@dataclass
class Served:
    """What one request produced: the answers (in row order), and the rows to commit before answering."""

    answers: list[dict[str, Any]]
    predictions: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)


class Guard:
    """The guard of one deployment in one server process."""

    def __init__(self, *, name: str, deployment_id: int, settings: GuardSettings, profile: TrainingProfile,
                 model: Model, state: GuardState, executor: Executor, backup: Model | None = None,
                 benchmark: Model | None = None, backup_executor: Executor | None = None) -> None:
        self.name, self.deployment_id, self.settings = name, deployment_id, settings
        self.model, self.backup, self.benchmark = model, backup, benchmark
        self.state, self.executor = state, executor
        # the backup scores in threads of its own: a hung model that holds every model thread must not
        # keep the backup from answering
        self.backup_executor = backup_executor or executor
        self.features = list(profile.features)
        extra = {settings.sticky.field, *settings.protected}
        self.screen = Screen(profile, range_margin=settings.screening.range_margin, allow_extra=extra)
        self.never_cite = set(settings.reasons.never_cite) | set(settings.protected)

    def _sticky_key(self, subject: str, digest: str) -> str:
        # by deployment id: a new deployment of the name (a replaced or revoked version) replays nothing
        return f"{self.deployment_id}:{subject}:{digest}"

    # --- steps before the model ---------------------------------------------------------------

    def throttle(self, key_id: str, rows: int) -> None:
        t = self.settings.throttle
        if t.rate <= 0:
            return
        wait = self.state.take(f"{self.name}:{key_id}", rows, t.rate, t.burst)
        if wait > 0:
            raise Throttled(f"key {key_id} sent more than {t.rate:g} rows per second (bursts up to {t.burst}) to "
                            f"{self.name!r}; wait {wait:.2f} s and send again, or ask for a higher rate", wait)

    def validate(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """Each row checked against the profile; a :class:`FieldError` names ``rows[i].field``."""
        out = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise FieldError(f"rows[{i}]", f"rows[{i}] must be a JSON object of feature values, got "
                                               f"{type(row).__name__}")
            try:
                out.append(self.screen.validate(row))
                for p in self.settings.protected:  # recorded with the decision, for monitoring: a group's name
                    v = row.get(p)
                    if not (v is None or isinstance(v, (bool, int, float)) or isinstance(v, str) and len(v) <= 200):
                        raise FieldError(p, f"field {p!r} (a protected attribute) must be text of at most 200 "
                                            f"characters, a number, true/false or null; send the person's group")
            except FieldError as exc:
                where = exc.field if len(rows) == 1 else f"rows[{i}].{exc.field}"
                raise FieldError(where, str(exc) if len(rows) == 1 else f"rows[{i}]: {exc}") from None
        return out

    # --- the pipeline ----------------------------------------------------------------------------

    async def serve(self, raw: Sequence[Mapping[str, Any]], clean: Sequence[dict[str, Any]], *, key_id: str,
                    killed: bool, detail_extra: Mapping[str, Any] | None = None) -> Served:
        """Run the steps after validation for every row; return the answers and the records to log
        (``detail_extra`` is added to each logged row's detail, e.g. ``appeal_of`` for a re-scored appeal)."""
        s = self.settings
        at = datetime.now(timezone.utc)
        n = len(clean)
        subjects = [_subject(r.get(s.sticky.field)) for r in raw]
        digests = [inputs_digest(c) for c in clean]
        ans: list[dict[str, Any]] = [{"prediction_id": pid, "decision": None, "score": None, "route": None,
                                      "flags": [], "reasons": [], "version": self.model.ref}
                                     for pid in new_prediction_ids(n)]
        detail: list[dict[str, Any]] = [{} for _ in range(n)]
        why: list[list[str]] = [[] for _ in range(n)]
        if killed:
            for i in range(n):
                self._safe_default(ans[i], why[i], "kill_switch")
        else:
            todo = self._screen(clean, digests, subjects, key_id, ans, why, detail)
            if todo:
                await self._decide(todo, clean, ans, why, detail)
        for d in detail:
            d.update(detail_extra or {})
        return self._records(raw, clean, subjects, digests, ans, why, detail, key_id, at)

    def _safe_default(self, a: dict[str, Any], why: list[str], route: str, reason: str = "kill_switch") -> None:
        s = self.settings
        answer = s.kill_switch.answer
        a["route"] = route
        if answer == "review":
            why.append(reason)
            a["decision"] = s.adverse if s.review.interim == "adverse" else s.favourable
        else:
            a["decision"] = s.adverse if answer == "adverse" else s.favourable

    def _screen(self, clean, digests, subjects, key_id, ans, why, detail) -> list[int]:
        """Flags per row; refused and sticky rows are answered here. The rows left for the model."""
        s = self.settings
        actions = s.screening.model_dump()
        todo = []
        for i, row in enumerate(clean):
            flags = self.screen.screen(row)
            if s.screening.duplicate_window_s > 0 and self.state.seen(f"{self.deployment_id}:{key_id}:{digests[i]}",
                                                                      s.screening.duplicate_window_s):
                flags.append("duplicate")
            ans[i]["flags"] = flags
            kinds = {f.split(":", 1)[0] for f in flags}
            if any(actions[k] == "refuse" for k in kinds):
                ans[i]["route"] = "refused"
                ans[i]["error"] = (f"refused by the guard's screening ({', '.join(f for f in flags if actions[f.split(':', 1)[0]] == 'refuse')}): "
                                   f"the row is not like the data the model was trained on; check the values")
                continue
            if s.review.on_flags:
                why[i].extend(f"screening:{f}" for f in flags if actions[f.split(":", 1)[0]] == "review")
            if subjects[i] is not None and s.sticky.window_s > 0:
                hit = self.state.get(self._sticky_key(subjects[i], digests[i]))
                if hit is not None:
                    ans[i].update(decision=hit["decision"], score=hit["score"], route="sticky",
                                  reasons=hit.get("reasons", []), version=hit.get("version", self.model.ref))
                    detail[i].update(sticky_of=hit["prediction_id"], version_id=hit.get("version_id"))
                    why[i].clear()
                    continue
            todo.append(i)
        return todo

    async def _score(self, model: Model, rows: list[dict[str, Any]], what: str,
                     executor: Executor) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
        """``model``'s scores within the latency budget (in a worker thread) with the matrix it read (None
        when it reads a DataFrame), or why there are none."""
        def job() -> tuple[np.ndarray, np.ndarray | None]:
            X = model.scorer.matrix(rows)
            return model.scorer.score(rows, X), X

        budget = self.settings.latency_budget_ms / 1000
        try:
            scores, X = await asyncio.wait_for(asyncio.wrap_future(executor.submit(job)), budget)
            return scores, X, None
        except asyncio.TimeoutError:
            return None, None, f"{what} did not answer within {self.settings.latency_budget_ms:g} ms"
        except Exception as exc:  # the model's failure is the guard's to absorb: the backup answers
            return None, None, f"{what} failed: {type(exc).__name__}: {str(exc)[:200]}"

    async def _decide(self, todo: list[int], clean, ans, why, detail) -> None:
        s = self.settings
        rows = [clean[i] for i in todo]
        t0 = time.perf_counter()
        scores, X, failure = await self._score(self.model, rows, "the model", self.executor)
        route, used = "model", self.model
        if scores is None:
            route, used = "backup", self.backup
            if self.backup is not None:  # the backup has its own budget: a slow backup is no answer either
                scores, X, why_not = await self._score(self.backup, rows, "the backup", self.backup_executor)
                if scores is None:
                    failure = f"{failure}; {why_not}"
            for i in todo:
                detail[i]["fallback"] = failure
            if scores is None:
                for i in todo:
                    ans[i]["flags"].append("model_unavailable")
                    self._safe_default(ans[i], why[i], "review", "model_unavailable")
                    if "model_unavailable" not in why[i]:  # (a kill-switch answer other than review)
                        why[i].append("model_unavailable")
                return
        latency = round((time.perf_counter() - t0) * 1000, 3)
        loop = asyncio.get_running_loop()
        bench = None
        if self.benchmark is not None:  # off the event loop, on the same matrix when it reads the same one
            shared = X if X is not None and used.scorer.same_encoding(self.benchmark.scorer) else None
            bench = await loop.run_in_executor(self.executor, self.benchmark.scorer.score, rows, shared)
        decisions = (scores >= s.threshold).astype(int)
        adverse_rows = []
        for k, i in enumerate(todo):
            a = ans[i]
            score, decision = float(scores[k]), int(decisions[k])
            a.update(score=round(score, 10), decision=decision, route=route, version=used.ref)
            detail[i].update(latency_ms=latency, model_decision=decision, version_id=used.version_id)
            if s.review.band > 0 and abs(score - s.threshold) <= s.review.band:
                why[i].append("near_threshold")
            if bench is not None:
                b = int(bench[k] >= s.threshold)
                detail[i].update(benchmark_score=round(float(bench[k]), 10), benchmark_decision=b,
                                 benchmark=self.benchmark.ref)
                if b != decision:
                    a["flags"].append("benchmark_disagrees")
                    if s.review.benchmark_disagreement == "review":
                        why[i].append("benchmark_disagrees")
                    elif s.review.benchmark_disagreement == "benchmark":
                        a.update(decision=b, route="benchmark", version=self.benchmark.ref)
                        detail[i]["version_id"] = self.benchmark.version_id
            if a["decision"] == s.adverse:  # the decision answered: the benchmark's when it was taken
                adverse_rows.append((k, i, self.benchmark if a["route"] == "benchmark" else used))
        if adverse_rows and s.reasons.count > 0:
            for by in {id(m): m for _, _, m in adverse_rows}.values():  # reasons from the model that decided
                mine = [(k, i) for k, i, m in adverse_rows if m is by]
                sub = None
                if X is not None and (by is used or used.scorer.same_encoding(by.scorer)):
                    sub = X[[k for k, _ in mine]]
                got = await loop.run_in_executor(self.executor, functools.partial(
                    by.scorer.reasons, [rows[k] for k, _ in mine], texts=s.reasons.texts,
                    never_cite=sorted(self.never_cite), k=s.reasons.count, adverse_high=s.adverse == 1,
                    threshold=s.threshold, X=sub))
                for (_, i), reasons in zip(mine, got):
                    ans[i]["reasons"] = reasons
        for i in todo:
            if why[i]:
                ans[i]["route"] = "review"
                ans[i]["decision"] = s.adverse if s.review.interim == "adverse" else s.favourable

    def _records(self, raw, clean, subjects, digests, ans, why, detail, key_id, at) -> Served:
        s = self.settings
        served = Served(answers=ans)
        for i, a in enumerate(ans):
            if why[i]:
                a["review"] = {"why": list(dict.fromkeys(why[i])), "interim_decision": a["decision"]}
            version_id = detail[i].pop("version_id", None)
            extra = {p: raw[i].get(p) for p in s.protected if p in raw[i]}
            if extra:
                detail[i]["protected"] = extra
            served.predictions.append({
                "id": a["prediction_id"], "deployment_id": self.deployment_id, "version_id": version_id,
                "key_id": key_id, "subject_id": subjects[i], "inputs": clean[i] if s.log.inputs == "store" else None,
                "inputs_sha256": digests[i], "score": a["score"], "decision": a["decision"], "route": a["route"],
                "flags": a["flags"], "reasons": a["reasons"], "detail": detail[i], "created_at": at})
            if why[i]:
                served.reviews.append({"prediction_id": a["prediction_id"], "deployment_id": self.deployment_id,
                                       "why": a["review"]["why"], "interim_decision": a["decision"],
                                       "score": a["score"], "reasons": a["reasons"], "status": "open",
                                       "created_at": at})
            elif a["route"] in ("model", "backup", "benchmark") and subjects[i] is not None and s.sticky.window_s > 0:
                self.state.put(self._sticky_key(subjects[i], digests[i]),
                               {"prediction_id": a["prediction_id"], "decision": a["decision"], "score": a["score"],
                                "reasons": a["reasons"], "version": a["version"], "version_id": version_id},
                               s.sticky.window_s)
        return served


def _subject(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text[:200] if text else None
