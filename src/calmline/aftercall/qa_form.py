"""The QA scorecard form (YAML, validated by pydantic) and the automatic scoring of one call.

Each item has a ``kind`` that says how it is scored from the call's log; every score is 0..1 with the evidence
it rests on (sequence numbers, ids, counts and times — never transcript words), or ``None`` when the item does
not apply to the call (no agent turns, no protocol, no alert). The total is the weighted mean of the items
that apply, using a reviewer's override where there is one (``qa_reviews.py``).

Example::

    form = load_form()                       # resources/qa/scorecard.yaml
    card = score_call(form, call_id, events) # events: the call's log, typed, in order
    card.items[0].score, card.items[0].evidence
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.configfile import load_config, parse_config, shipped_config
from calmline.events import GUARDRAIL_TYPE, AgentTurnScored, AnyEvent, CallerVerified, FindingEmitted
from calmline.postcall import CallSummary, summarize
from calmline.qa import empathy_profile

DEFAULT_FILE = "scorecard.yaml"
ItemId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
#: Guardrail categories that are disclosures of a patient's information.
DISCLOSURE_LEVELS = frozenset({"unverified_disclosure"})


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ItemId
    title: str = Field(min_length=1, max_length=200)
    weight: float = Field(default=1.0, gt=0, le=100)


class EmpathyItem(_Item):
    """Mean EPITOME level over the three mechanisms against a target, less a penalty per talk-over."""

    kind: Literal["empathy_profile"]
    target_mean: float = Field(default=1.0, gt=0, le=2)
    talk_over_penalty: float = Field(default=0.05, ge=0, le=1)


class ProtocolAdherenceItem(_Item):
    """Required checklist steps done over required steps, across the protocols that ran."""

    kind: Literal["protocol_adherence"]


class TimeToEscalationItem(_Item):
    """The slowest disclosure-to-acknowledgement of the call's alerts: full marks under ``target_s``."""

    kind: Literal["time_to_escalation"]
    target_s: float = Field(default=30, ge=0)
    limit_s: float = Field(default=180, gt=0)

    @model_validator(mode="after")
    def _order(self) -> TimeToEscalationItem:
        if self.limit_s <= self.target_s:
            raise ValueError("limit_s must be greater than target_s")
        return self


class GuardrailItem(_Item):
    """One minus a penalty per guardrail violation the agent said (warning and high severities)."""

    kind: Literal["guardrail_violations"]
    per_warning: float = Field(default=0.25, ge=0, le=1)
    per_high: float = Field(default=0.5, ge=0, le=1)


class VerificationItem(_Item):
    """Zero when the agent disclosed a patient's information to an unverified caller, else one."""

    kind: Literal["verification_before_disclosure"]


FormItem = Annotated[
    EmpathyItem | ProtocolAdherenceItem | TimeToEscalationItem | GuardrailItem | VerificationItem,
    Field(discriminator="kind"),
]


class ScorecardForm(BaseModel):
    """A QA form: its items and how a total passes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    form_id: ItemId
    version: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    pass_mark: float = Field(default=0.8, ge=0, le=1)
    agreement_tolerance: float = Field(default=0.1, ge=0, le=1)
    items: tuple[FormItem, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> ScorecardForm:
        ids = [i.id for i in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item id(s): {', '.join(dupes)}")
        return self

    def item(self, item_id: str) -> FormItem | None:
        """The item with this id, or None."""
        return next((i for i in self.items if i.id == item_id), None)


def parse_form(text: str, file: str) -> ScorecardForm:
    """Validate one form document; errors are ``ConfigError`` with ``FILE:LINE: reason``."""
    return parse_config(ScorecardForm, text, file)


def load_form(path: str | Path | None = None) -> ScorecardForm:
    """Load ``path``, or the shipped ``resources/qa/scorecard.yaml`` (read once)."""
    if path is not None:
        return load_config(ScorecardForm, path)
    return default_form()


def default_form() -> ScorecardForm:
    """The shipped form (read once; the models are frozen)."""
    return shipped_config(ScorecardForm, "qa", DEFAULT_FILE)


# -- scoring -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemScore:
    """One item scored automatically: 0..1 or None (not applicable), with what it rests on."""

    item_id: str
    kind: str
    title: str
    weight: float
    score: float | None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AutoScorecard:
    """The automatic scores of one call against one form."""

    call_id: str
    form_id: str
    form_version: str
    items: tuple[ItemScore, ...]


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def _empathy(item: EmpathyItem, events: Sequence[AnyEvent]) -> tuple[float | None, dict[str, Any]]:
    turns = [e.model_dump(mode="json") for e in events if isinstance(e, AgentTurnScored)]
    profile = empathy_profile(turns)
    means = [m["mean"] for m in profile["mechanisms"].values() if m["mean"] is not None]
    if not turns or not means:
        return None, {"agent_turns": len(turns)}
    mean = sum(means) / len(means)
    score = mean / item.target_mean - item.talk_over_penalty * profile["talk_overs"]
    return _clamp(score), {"mechanism_mean": round(mean, 3), "profile": profile}


def _adherence(summary: CallSummary) -> tuple[float | None, dict[str, Any]]:
    runs = [p for p in summary.protocols if p.required_total]
    if not runs:
        return None, {"protocols": []}
    done = sum(p.required_done for p in runs)
    total = sum(p.required_total for p in runs)
    detail = [
        {
            "protocol_id": p.protocol_id,
            "version": p.version,
            "required_done": p.required_done,
            "required_total": p.required_total,
            "missed_steps": [s.step_id for s in p.steps if s.required and s.status != "done"],
        }
        for p in runs
    ]
    return _clamp(done / total), {"required_done": done, "required_total": total, "protocols": detail}


def _escalation(item: TimeToEscalationItem, summary: CallSummary) -> tuple[float | None, dict[str, Any]]:
    alerts = [e for e in summary.escalations if e.disclosure_at is not None]
    if not alerts:
        return None, {"alerts": []}
    detail = []
    worst: float | None = 0.0
    for e in alerts:
        detail.append(
            {
                "alert_id": e.alert_id,
                "kind": e.kind,
                "severity": e.severity,
                "disclosure_to_alert_s": e.disclosure_to_alert_s,
                "alert_to_ack_s": e.alert_to_ack_s,
                "disclosure_to_ack_s": e.disclosure_to_ack_s,
                "acknowledged": e.acknowledged_at is not None,
            }
        )
        if e.disclosure_to_ack_s is None:
            worst = None  # never acknowledged: the worst case
        elif worst is not None:
            worst = max(worst, e.disclosure_to_ack_s)
    span = item.limit_s - item.target_s
    score = 0.0 if worst is None else 1.0 - (worst - item.target_s) / span
    return _clamp(score), {"slowest_disclosure_to_ack_s": worst, "alerts": detail}


def _guardrail_findings(events: Sequence[AnyEvent]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        if (
            isinstance(e, FindingEmitted)
            and e.finding.type == GUARDRAIL_TYPE
            and e.finding.assertion == "present"
        ):
            f = e.finding
            out.append(
                {
                    "utterance_seq": f.utterance_seq,
                    "level": f.level,
                    "severity": f.category or "info",
                    "rule_id": f.rule_id,
                }
            )
    return out


def _guardrails(item: GuardrailItem, events: Sequence[AnyEvent]) -> tuple[float | None, dict[str, Any]]:
    found = [g for g in _guardrail_findings(events) if g["severity"] in ("warning", "high")]
    warnings = sum(1 for g in found if g["severity"] == "warning")
    high = sum(1 for g in found if g["severity"] == "high")
    score = 1.0 - item.per_warning * warnings - item.per_high * high
    return _clamp(score), {"warning": warnings, "high": high, "violations": found}


def _verification(events: Sequence[AnyEvent]) -> tuple[float | None, dict[str, Any]]:
    verified = next((e for e in events if isinstance(e, CallerVerified)), None)
    breaches = [g for g in _guardrail_findings(events) if g["level"] in DISCLOSURE_LEVELS]
    evidence: dict[str, Any] = {
        "caller_verified": verified is not None,
        "verified_at": verified.at.isoformat() if verified else None,
        "disclosures_before_verification": breaches,
    }
    return (0.0 if breaches else 1.0), evidence


def score_item(item: FormItem, summary: CallSummary, events: Sequence[AnyEvent]) -> ItemScore:
    """Score one item of the form on one call."""
    if isinstance(item, EmpathyItem):
        score, evidence = _empathy(item, events)
    elif isinstance(item, ProtocolAdherenceItem):
        score, evidence = _adherence(summary)
    elif isinstance(item, TimeToEscalationItem):
        score, evidence = _escalation(item, summary)
    elif isinstance(item, GuardrailItem):
        score, evidence = _guardrails(item, events)
    else:
        score, evidence = _verification(events)
    return ItemScore(item.id, item.kind, item.title, item.weight, score, evidence)


def score_call(form: ScorecardForm, call_id: str, events: Iterable[AnyEvent]) -> AutoScorecard:
    """Score every item of ``form`` on the call, from its log (pure: the same log gives the same card)."""
    log = list(events)
    summary = summarize(call_id, log)
    items = tuple(score_item(item, summary, log) for item in form.items)
    return AutoScorecard(call_id, form.form_id, form.version, items)


def weighted_total(scores: Iterable[tuple[float, float | None]]) -> float | None:
    """The weighted mean of ``(weight, score)`` pairs whose score is not None."""
    pairs = [(w, s) for w, s in scores if s is not None]
    total_weight = sum(w for w, _ in pairs)
    if not pairs or total_weight <= 0:
        return None
    return round(sum(w * s for w, s in pairs) / total_weight, 3)
