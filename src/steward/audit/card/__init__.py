"""Model cards (Mitchell et al., 2019), generated from the audit and a small card-info file."""

from steward.audit.card._info import CARD_FIELDS, CardInfo, Wording, load_card_info
from steward.audit.card._render import card_sections, render_model_card

__all__ = ["CARD_FIELDS", "CardInfo", "Wording", "card_sections", "load_card_info", "render_model_card"]
