"""Adverse-action notices: a plain-language notice of an adverse final decision for the person it is about.

The notice says what was decided in the card's wording (``wording.unfavourable``: "not offered the
product"), when, the principal reasons (the reviewed reason texts logged with the decision that stands:
the model's, or the re-scored decision of an appeal that settled it; a reviewer's own explanation when no
reason was logged), whether a person reviewed it, how to appeal and by when (the guard's
``appeals.file_within_days``), and the statement of the right to a statement of specific reasons, as the
US Equal Credit Opportunity Act's Regulation B asks of an adverse-action notice (12 CFR 1002.9(a)(2));
for a model whose domain is credit, the Act's anti-discrimination notice (12 CFR 1002.9(b)(1)) too.

:func:`compose_notice` builds the notice (a dict) from the facts alone, so it is tested without a
database; :func:`notice_text` and :func:`notice_html` render it (the HTML is one standalone page, every
value escaped, no script, readable offline). Protected attributes never appear: reason codes never cite
them, and the notice shows nothing else of the inputs.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from steward.errors import ConflictError, WorkflowError

__all__ = ["compose_notice", "notice_facts", "notice_for", "notice_text", "notice_html", "RIGHT_TO_REASONS",
           "ECOA_NOTICE"]

RIGHT_TO_REASONS = ("You have the right to a statement of the specific reasons for this decision. To get it, "
                    "contact {contact} within 60 days of the date of this notice; you will receive the statement in "
                    "writing within 30 days of your request.")
ECOA_NOTICE = ("The federal Equal Credit Opportunity Act prohibits creditors from discriminating against credit "
               "applicants on the basis of race, color, religion, national origin, sex, marital status, age (provided "
               "the applicant has the capacity to enter into a binding contract); because all or part of the "
               "applicant's income derives from any public assistance program; or because the applicant has in good "
               "faith exercised any right under the Consumer Credit Protection Act.")
NO_CONTACT = "the organisation that sent you this notice"


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _day(t: datetime | None) -> str | None:
    return None if t is None else f"{t.day} {t:%B %Y}"


def _texts(reasons: Any) -> list[str]:
    out: list[str] = []
    for r in reasons or []:
        text = (r.get("text") if isinstance(r, dict) else r) or ""
        text = " ".join(str(text).split())
        text = text[:1].upper() + text[1:]
        if text and text not in out:
            out.append(text)
    return out


def compose_notice(history: dict[str, Any], *, closes_at: datetime, guard: dict[str, Any],
                   card_info: dict[str, Any] | None = None, domain: str | None = None,
                   rescored_reasons: list[Any] | None = None, today: datetime | None = None) -> dict[str, Any]:
    """The notice of the adverse final decision in ``history`` (:meth:`Registry.prediction_history`).

    Raises :class:`~steward.errors.ConflictError` for a favourable final decision (there is nothing adverse
    to give notice of) and :class:`~steward.errors.WorkflowError` while a person is still deciding."""
    pid = history["prediction_id"]
    favourable = int(guard.get("favourable", 1))
    final, by = history.get("final_decision"), history.get("settled_by")
    if final is None:
        raise WorkflowError(f"prediction {pid} has no decision (the guard refused the request); there is no "
                            f"decision to give notice of")
    if by == "pending_review":
        raise WorkflowError(f"the decision {pid} is still with a reviewer; a notice is given once a person has "
                            f"settled it")
    if int(final) == favourable:
        raise ConflictError(f"the final decision of {pid} is favourable ({final}); an adverse-action notice is only "
                            f"for an adverse decision")
    card = card_info or {}
    model = card.get("model") or {}
    wording = card.get("wording") or {}
    contact = (model.get("contact") or "").strip() or NO_CONTACT
    settling = [s for s in history.get("history", []) if s.get("status") == "final"]
    last = settling[-1] if settling else None
    decided_at = _when(last["at"]) if last else _when(history.get("created_at"))
    reasons = _texts(history.get("reasons"))
    if by == "appeal" and rescored_reasons is not None:
        reasons = _texts(rescored_reasons) or reasons
    reviewed = by in ("review", "appeal")
    explanation = " ".join(str(last.get("reason") or "").split()) if last and reviewed else ""
    if not reasons and explanation:
        reasons = [explanation]
    unfavourable = (wording.get("unfavourable") or "").strip()
    now = today or datetime.now(timezone.utc)
    appeals = history.get("appeals") or []
    open_appeal = next((a for a in appeals if a.get("status") == "open"), None)
    closes = _when(closes_at)
    decide_days = float((guard.get("appeals") or {}).get("decide_within_days", 14))
    if open_appeal is not None:
        appeal = (f"Your appeal of {_day(_when(open_appeal.get('created_at')))} is being considered; it is due to be "
                  f"decided by {_day(_when(open_appeal.get('due_at')))}.")
    elif closes is not None and now > closes:
        appeal = f"The time to appeal this decision ended on {_day(closes)}."
    else:
        appeal = (f"You may appeal this decision until {_day(closes)}. Contact {contact}, quote the reference {pid}, "
                  f"and say why you think the decision is wrong; correct any information about you that was wrong. "
                  f"A person reviews every appeal, and it is decided within {decide_days:g} days.")
    return {
        "prediction_id": pid, "deployment": history.get("deployment"), "decision": int(final),
        "statement": f"You were {unfavourable}." if unfavourable else "The decision was not in your favour.",
        "about": (model.get("name") or "").strip() or None,
        "decided_at": decided_at.isoformat() if decided_at else None, "decided_on": _day(decided_at),
        "issued_on": _day(now), "reasons": reasons,
        "reviewed": reviewed, "settled_by": by,
        "review": (f"A person reviewed this decision{' on appeal' if by == 'appeal' else ''} on {_day(decided_at)}."
                   if reviewed else "This decision was made by an automated system; no person reviewed it."),
        "explanation": explanation or None,
        "appeal": appeal, "appeal_by": closes.date().isoformat() if closes else None,
        "appeal_open": open_appeal is None and closes is not None and now <= closes, "contact": contact,
        "right_to_reasons": RIGHT_TO_REASONS.format(contact=contact),
        "ecoa": ECOA_NOTICE if (domain or "").lower() == "credit" else None,
    }


def notice_facts(registry: Any, prediction_id: str) -> dict[str, Any]:
    """What :func:`compose_notice` needs, read from a local registry."""
    from steward.governance._outcomes import card_info_of
    from steward.governance._registry import parse_ref

    history = registry.prediction_history(prediction_id)
    closes, guard = registry.appeal_window(prediction_id)
    ref = history.get("version") or history.get("deployment_version")
    rescored = None
    decided = [a for a in history.get("appeals") or [] if a.get("status") in ("upheld", "overturned")]
    if history.get("settled_by") == "appeal" and decided and decided[-1].get("rescored_prediction_id"):
        rescored = registry.prediction(decided[-1]["rescored_prediction_id"]).get("reasons") or []
    domain = registry.model_domain(parse_ref(ref)[0]) if ref else None
    return {"history": history, "closes_at": closes, "guard": guard, "card_info": card_info_of(registry, ref),
            "domain": domain, "rescored_reasons": rescored}


def notice_for(registry: Any, prediction_id: str, *, today: datetime | None = None) -> dict[str, Any]:
    """The notice of ``prediction_id``'s adverse final decision (see :func:`compose_notice`)."""
    facts = notice_facts(registry, prediction_id)
    return compose_notice(facts.pop("history"), today=today, **facts)


def notice_text(n: dict[str, Any]) -> str:
    """The notice as plain text."""
    lines = ["NOTICE OF DECISION", "", f"Reference: {n['prediction_id']}", f"Date of this notice: {n['issued_on']}"]
    if n.get("about"):
        lines.append(f"About: a decision made with the help of an automated system ({n['about']})")
    lines += ["", "What was decided", f"  {n['statement']}", f"  Date of the decision: {n['decided_on']}", "",
              "Principal reasons"]
    lines += [f"  {i}. {t}" for i, t in enumerate(n["reasons"], 1)] or [
        "  No reasons were recorded with this decision; you may ask for them (see below)."]
    lines += ["", "Who decided", f"  {n['review']}"]
    if n.get("explanation") and n["explanation"] not in n["reasons"]:
        lines.append(f"  The reviewer's explanation: {n['explanation']}")
    lines += ["", "How to appeal", f"  {n['appeal']}", "", "Your right to a statement of reasons",
              f"  {n['right_to_reasons']}"]
    if n.get("ecoa"):
        lines += ["", "Equal Credit Opportunity Act", f"  {n['ecoa']}"]
    return "\n".join(lines) + "\n"


_STYLE = ("body{font-family:Georgia,serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5;color:#111}"
          "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}.ref{color:#444}"
          "@media print{body{margin:0}}")


def notice_html(n: dict[str, Any]) -> str:
    """The notice as one standalone HTML page (inline style, no script, every value escaped)."""
    e = html.escape
    reasons = "".join(f"<li>{e(t)}</li>" for t in n["reasons"])
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Notice of decision {e(n['prediction_id'])}</title>", f"<style>{_STYLE}</style>", "</head>",
        "<body>", "<main>", "<h1>Notice of decision</h1>",
        f'<p class="ref">Reference: {e(n["prediction_id"])}<br>Date of this notice: {e(n["issued_on"])}</p>',
    ]
    if n.get("about"):
        parts.append(f"<p>About: a decision made with the help of an automated system ({e(n['about'])}).</p>")
    parts += ["<h2>What was decided</h2>", f"<p><strong>{e(n['statement'])}</strong><br>"
              f"Date of the decision: {e(n['decided_on'] or '')}</p>", "<h2>Principal reasons</h2>",
              f"<ol>{reasons}</ol>" if reasons else
              "<p>No reasons were recorded with this decision; you may ask for them (see below).</p>",
              "<h2>Who decided</h2>", f"<p>{e(n['review'])}</p>"]
    if n.get("explanation") and n["explanation"] not in n["reasons"]:
        parts.append(f"<p>The reviewer's explanation: {e(n['explanation'])}</p>")
    parts += ["<h2>How to appeal</h2>", f"<p>{e(n['appeal'])}</p>", "<h2>Your right to a statement of reasons</h2>",
              f"<p>{e(n['right_to_reasons'])}</p>"]
    if n.get("ecoa"):
        parts += ["<h2>Equal Credit Opportunity Act</h2>", f"<p>{e(n['ecoa'])}</p>"]
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
