"""How findings speak: of "African-American defendants rated low risk" when the card says so,
of "people with race = African-American given the favourable decision (0)" when it does not."""

from __future__ import annotations

from steward.audit.card import Wording

__all__ = ["Speaker", "capital"]


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class Speaker:
    def __init__(self, wording: Wording | None, favourable: int) -> None:
        self.w = wording or Wording()
        self.favourable = favourable

    def who(self, attribute: str, group: str) -> str:
        attrs = attribute.split("*")
        values = str(group).split("*") if len(attrs) > 1 else [str(group)]
        if len(values) != len(attrs):
            values = [str(group)] * len(attrs) if len(attrs) == 1 else values
        if self.w.people:
            return " ".join(values) + " " + self.w.people
        return "people with " + " and ".join(f"{a} = {v}" for a, v in zip(attrs, values))

    def given(self, decision: int) -> str:
        """'rated low risk' / 'given the favourable decision (0)' for receiving ``decision``."""
        if decision == self.favourable:
            return self.w.favourable or f"given the favourable decision ({decision})"
        return self.w.unfavourable or f"given the unfavourable decision ({decision})"

    def with_label(self, label: int) -> str:
        """'who did not reoffend' / 'whose label was 0'."""
        words = self.w.label_positive if label == 1 else self.w.label_negative
        return words if words else f"whose label was {label}"
