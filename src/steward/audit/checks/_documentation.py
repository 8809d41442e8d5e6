"""Documentation checks: the model card must say what the policy requires of it."""

from __future__ import annotations

import difflib

from pydantic import Field, field_validator

from steward.audit._findings import Finding
from steward.audit.card import CARD_FIELDS
from steward.audit.checks._registry import CheckContext, CheckParams, register

__all__ = ["ModelCardParams"]

# What a missing field means to a reader, for the finding's sentence.
_MEANING = {
    "model.name": "what the model is called", "model.owner": "who owns the model",
    "model.accountable_executive": "which executive is accountable for the model",
    "model.contact": "whom to contact about the model", "model.licence": "under which licence the model is used",
    "model.version": "which version of the model this is", "model.type": "what kind of model it is",
    "intended_use.primary_uses": "what the model is for", "intended_use.primary_users": "who is meant to use it",
    "intended_use.out_of_scope": "which uses are out of scope", "training_data.description": "what data it was trained on",
    "evaluation_data.description": "what data it was evaluated on", "ethical_considerations": "its ethical considerations",
    "caveats": "its caveats and recommendations",
}


class ModelCardParams(CheckParams):
    required: list[str] = Field(min_length=1)

    @field_validator("required")
    @classmethod
    def _known_fields(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in CARD_FIELDS:
                close = difflib.get_close_matches(name, CARD_FIELDS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"{name!r} is not a model-card field; {hint}the fields are: {', '.join(CARD_FIELDS)}")
        return v


@register("model_card", params=ModelCardParams,
          summary="The card-info file must fill in every model-card field in `required`.")
def model_card(ctx: CheckContext, params: ModelCardParams) -> list[Finding]:
    out = []
    for name in params.required:
        given = ctx.card is not None and ctx.card.get(name) is not None
        meaning = _MEANING.get(name, name.replace("_", " ").replace(".", " "))
        if given:
            status, text = "pass", f"The model card says {meaning} ({name})."
        else:
            where = "the card-info file" if ctx.card is not None else "a card-info file (--card-info; `steward init` writes one)"
            status, text = params.severity, f"The model card does not say {meaning}; the policy requires {name}. Add it to {where}."
        out.append(Finding(check="model_card", status=status, severity=params.severity, metric=name, message=text,
                           threshold={"required": True}, source=params.source))
    return out
