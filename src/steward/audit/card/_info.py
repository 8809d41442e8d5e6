"""What a person must tell Steward for the model card: the card-info YAML file (``--card-info``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from steward.audit._risk import RiskAnswers
from steward.audit._yaml import YamlDoc, problems_from_validation, raise_problems, read_yaml
from steward.errors import PolicyError

__all__ = ["CardInfo", "Wording", "CARD_FIELDS", "load_card_info"]

Text = str | list[str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _scalars_as_text(cls, v: Any) -> Any:
        # ``version: 2`` or ``date: 2026-11-01`` read as numbers or dates in YAML; here they are text.
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return v


class ModelDetails(_Strict):
    name: str | None = None
    version: str | None = None
    type: str | None = None
    description: str | None = None
    owner: str | None = None
    accountable_executive: str | None = None
    developers: Text | None = None
    date: str | None = None
    licence: str | None = None
    contact: str | None = None
    citation: str | None = None


class IntendedUse(_Strict):
    primary_uses: Text | None = None
    primary_users: Text | None = None
    out_of_scope: Text | None = None


class Factors(_Strict):
    relevant: Text | None = None
    evaluation: Text | None = None


class DataDescription(_Strict):
    description: Text | None = None
    source: str | None = None
    motivation: Text | None = None
    preprocessing: Text | None = None


class Wording(_Strict):
    """How findings speak of the people and decisions (``people: defendants``, ``favourable: rated low risk``)."""

    people: str | None = None
    favourable: str | None = None
    unfavourable: str | None = None
    label_positive: str | None = None
    label_negative: str | None = None


class CardInfo(_Strict):
    model: ModelDetails = Field(default_factory=ModelDetails)
    intended_use: IntendedUse = Field(default_factory=IntendedUse)
    factors: Factors = Field(default_factory=Factors)
    metrics: Text | None = None
    training_data: DataDescription = Field(default_factory=DataDescription)
    evaluation_data: DataDescription = Field(default_factory=DataDescription)
    ethical_considerations: Text | None = None
    caveats: Text | None = None
    wording: Wording = Field(default_factory=Wording)
    risk: RiskAnswers | None = None

    def get(self, path: str) -> Any:
        """The value at a dotted path (``model.owner``); None when not given or blank."""
        obj: Any = self
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        if isinstance(obj, str) and not obj.strip():
            return None
        if isinstance(obj, list) and not any(str(x).strip() for x in obj):
            return None
        return obj


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, f in model.model_fields.items():
        tp = f.annotation
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp is not RiskAnswers:
            out += _leaf_paths(tp, prefix + name + ".")
        else:
            out.append(prefix + name)
    return out


# Every field a policy may require (``model.owner``, ``intended_use.out_of_scope``, ...).
CARD_FIELDS: tuple[str, ...] = tuple(p for p in _leaf_paths(CardInfo) if not p.startswith(("wording.", "risk")))


def load_card_info(source: str | Path | dict[str, Any] | CardInfo | None) -> CardInfo | None:
    """Read a card-info YAML file (or a dict); errors name the file, line and key."""
    if source is None or isinstance(source, CardInfo):
        return source
    if isinstance(source, dict):
        try:
            return CardInfo.model_validate(source)
        except ValidationError as exc:
            doc = YamlDoc(source, {}, "<card info>")
            raise_problems([p.replace("<card info>:1: ", "card info: ") for p in problems_from_validation(exc, doc, CardInfo)],
                           doc, "card-info file")
    doc = read_yaml(source, what="card-info")
    if not isinstance(doc.value, dict):
        raise PolicyError(f"{doc.name}:1: the card-info file must be a mapping of keys (model:, intended_use:, ...)")
    try:
        return CardInfo.model_validate(doc.value)
    except ValidationError as exc:
        raise_problems(problems_from_validation(exc, doc, CardInfo), doc, "card-info file")
    raise AssertionError("unreachable")
