"""The privacy and security probes of an audit: the PII scan and re-identification risk of the audited data,
and with a model, membership inference (against the training data), attribute inference and extraction.

A probe runs when the policy tier lists its check (its settings come from there), so an audit under a tier
without privacy checks costs nothing more. What stops a probe from running is recorded as
``<probe>_skipped``, which the check reports as missing evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from steward.data import Roles
from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["privacy_probes", "PRIVACY_CHECKS"]

PRIVACY_CHECKS = ("membership_inference", "attribute_inference", "extraction_resistance", "pii_in_features",
                  "reidentification")


def _wants(tier: Any, check: str) -> bool:
    return tier is not None and check in tier.checks


def _throttle(tier: Any) -> tuple[float | None, float | None]:
    t = ((tier.guard or {}).get("throttle") or {}) if tier is not None else {}
    rate, burst = t.get("rate"), t.get("burst")
    return (float(rate) if rate else None, float(burst) if burst else None)


def privacy_probes(out: dict[str, Any], frame: pd.DataFrame, *, roles: Roles, features: Sequence[str],
                   model: Any, train: pd.DataFrame | None, tier: Any, confidence: float, stage: Any) -> None:
    from steward.audit.checks._privacy import (
        AttributeParams,
        ExtractionParams,
        MembershipParams,
        PiiParams,
        ReidentificationParams,
    )

    attrs = [a for a in roles.attributes if "*" not in a and a in frame.columns]
    if _wants(tier, "pii_in_features"):
        from steward.privacy._pii import scan_pii

        pp = tier.checks["pii_in_features"]
        assert isinstance(pp, PiiParams)
        with stage("privacy: PII scan"):
            out["pii"] = scan_pii(frame, sample=pp.sample, min_share=pp.min_share)
            out["pii_features"] = list(features)
    if _wants(tier, "reidentification"):
        rp = tier.checks["reidentification"]
        assert isinstance(rp, ReidentificationParams)
        _reidentification(out, frame, rp, stage)
    if model is None:
        for check, key in (("membership_inference", "membership_inference"), ("attribute_inference",
                                                                               "attribute_inference"),
                           ("extraction_resistance", "extraction")):
            if _wants(tier, check):
                out[f"{key}_skipped"] = "no model was given: give the model (--model)"
        return
    if _wants(tier, "membership_inference"):
        mp = tier.checks["membership_inference"]
        assert isinstance(mp, MembershipParams)
        if train is None:
            out["membership_inference_skipped"] = ("the attack needs the rows the model was trained on: give the "
                                                   "training data with the label (--train)")
        else:
            from steward.privacy._membership import membership_inference

            with stage("privacy: membership inference") as step:
                out["membership_inference"] = _guarded(out, "membership_inference", lambda: membership_inference(
                    model, train, _labelled(frame, roles), label=roles.label, protected=attrs,
                    positive_label=roles.positive_label, max_rows=mp.max_rows, confidence=confidence,
                    min_group_size=tier.min_group_size,
                    max_advantage=mp.max_advantage, on_progress=step))
    if _wants(tier, "attribute_inference"):
        ap = tier.checks["attribute_inference"]
        assert isinstance(ap, AttributeParams)
        small = [a for a in attrs if frame[a].notna().all() and frame[a].nunique() <= 20]
        if not small:
            out["attribute_inference_skipped"] = ("no protected attribute to attack: name protected attributes with "
                                                  "at most 20 values and no missing ones")
        else:
            from steward.privacy._attribute import attribute_inference

            with stage("privacy: attribute inference") as step:
                out["attribute_inference"] = _guarded(out, "attribute_inference", lambda: attribute_inference(
                    model, frame, attributes=small, features=[f for f in features if f not in small],
                    max_rows=ap.max_rows, confidence=confidence, max_advantage=ap.max_advantage, on_progress=step))
    if _wants(tier, "extraction_resistance"):
        ep = tier.checks["extraction_resistance"]
        assert isinstance(ep, ExtractionParams)
        from steward.privacy._extraction import extraction_probe
        from steward.serving._profile import build_profile

        rate, burst = _throttle(tier)
        source = train if train is not None else frame
        with stage("privacy: model extraction") as step:
            profile = build_profile(source, list(model.features or features))
            out["extraction"] = _guarded(out, "extraction", lambda: extraction_probe(
                model, profile=profile, holdout=frame, budgets=ep.budgets, repeats=1,
                surrogates=("logistic", "boosting"), agreement_target=ep.agreement, rate=rate, burst=burst,
                threshold=roles.threshold if roles.threshold is not None else 0.5, confidence=confidence,
                on_progress=step))


def _labelled(frame: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    return frame[frame[roles.label].notna()] if roles.label in frame.columns else frame


def _guarded(out: dict[str, Any], key: str, run: Any) -> Any:
    """The probe's report, or None with ``<key>_skipped`` saying why the data or model did not allow it."""
    try:
        return run()
    except (DataValidationError, RoleError, MissingExtraError) as exc:
        out[f"{key}_skipped"] = str(exc)
        return None


def _reidentification(out: dict[str, Any], frame: pd.DataFrame, params: Any, stage: Any) -> None:
    from steward.privacy._reident import reidentification_risk, suggest_quasi_identifiers

    qi = list(params.quasi_identifiers or [])
    if not qi:
        qi = suggest_quasi_identifiers(frame)
    missing = [q for q in qi if q not in frame.columns]
    if missing:
        out["reidentification_skipped"] = (f"the policy's quasi-identifiers {', '.join(missing)} are not in the data; "
                                           f"fix quasi_identifiers in the policy")
        return
    if not qi:
        out["reidentification_skipped"] = "no quasi-identifiers were declared or found: declare them in the policy"
        return
    with stage("privacy: re-identification risk"):
        out["reidentification"] = _guarded(out, "reidentification",
                                           lambda: reidentification_risk(frame, qi, k=params.k))

