"""Suggested phrases for the agent: a curated library as data, picked purely from what just happened.

Never sent on the agent's behalf: a ``suggestion`` output is shown to the agent, who may use it or not.
At most one per utterance; rate-limited by call time (``min_gap_s``) so the agent is not flooded; never the
same entry twice in a call. A guardrail hit always gets its fix (the guardrail's own compliant alternative
when it has one), because it corrects something already said.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calmline.engine.state import CallState
from calmline.events import Finding, SuggestionOffered
from calmline.protocols.loader import ProtocolError, line_of, parse_yaml

Emotion = Literal["anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral"]
_FEELING = {
    "anger": "angry",
    "frustration": "frustrated",
    "fear": "frightened",
    "sadness": "sad",
    "confusion": "confused",
    "relief": "relieved",
    "neutral": "calm",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class When(_Model):
    """The moment a suggestion fits (exactly one of the three)."""

    caller_emotion: tuple[Emotion, ...] = ()
    min_score: float = Field(default=0.6, ge=0.0, le=1.0)
    guardrail: tuple[str, ...] = ()
    protocol: str | None = None


class Suggestion(_Model):
    """One phrase, when to offer it, and where its wording comes from."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    when: When
    text: str = Field(min_length=1, max_length=400)
    source: str = Field(min_length=1)


class SuggestionLibrary(_Model):
    """The packaged suggestions of one language."""

    version: str
    language: str
    min_gap_s: float = Field(default=20, ge=0)
    suggestions: tuple[Suggestion, ...]


def load_suggestions(language: str = "en") -> SuggestionLibrary:
    """Read and validate ``resources/suggestions/<language>.yaml`` (errors name the file and line)."""
    file = f"suggestions/{language}.yaml"
    text = (
        resources.files("calmline.resources").joinpath("suggestions", f"{language}.yaml").read_text("utf-8")
    )
    data, node = parse_yaml(text, file)
    try:
        return SuggestionLibrary.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ProtocolError(file, line_of(node, err["loc"]), f"{where}: {err['msg']}") from exc


def pick(
    library: SuggestionLibrary,
    state: CallState,
    *,
    at: datetime,
    emotions: dict[str, float] | None = None,
    guardrails: tuple[Finding, ...] = (),
    activated: tuple[str, ...] = (),
    crisis: bool = False,
) -> tuple[CallState, tuple[SuggestionOffered, ...]]:
    """At most one suggestion for this moment, and the state that remembers it.

    A protocol that just started is offered its opening line at once (no rate limit). ``crisis`` (a high or
    critical protocol is running) silences emotion-based phrases: the protocol's checklist leads then.
    """
    for finding in guardrails:  # a fix for what was just said: always offered
        entry = next((s for s in library.suggestions if finding.level in s.when.guardrail), None)
        text = finding.alternative or (entry.text if entry else None)
        if text is None:
            continue
        source = (
            f"guardrail {finding.rule_id or finding.level} ({finding.analyzer}@{finding.analyzer_version})"
            if finding.alternative
            else entry.source  # type: ignore[union-attr]
        )
        key = f"guardrail:{finding.rule_id or finding.level}"
        return _offer(state, key, text, f"instead of what was just said ({finding.level})", source, at)
    for pid in activated:
        entry = next((s for s in library.suggestions if s.when.protocol == pid), None)
        if entry is not None and entry.id not in state.suggested:
            return _offer(state, entry.id, entry.text, f"protocol {pid} started", entry.source, at)
    last = state.last_suggestion_at
    if crisis or (last is not None and at - last < timedelta(seconds=library.min_gap_s)):
        return state, ()
    if emotions:
        ranked = sorted(
            ((score, name) for name, score in emotions.items() if name not in ("neutral", "relief")),
            reverse=True,
        )
        for score, name in ranked[:1]:
            entry = next(
                (
                    s
                    for s in library.suggestions
                    if name in s.when.caller_emotion
                    and score >= s.when.min_score
                    and s.id not in state.suggested
                ),
                None,
            )
            if entry is not None:
                reason = f"the caller sounds {_FEELING[name]} ({name} {score:.2f})"
                return _offer(state, entry.id, entry.text, reason, entry.source, at)
    return state, ()


def _offer(
    state: CallState, key: str, text: str, reason: str, source: str, at: datetime
) -> tuple[CallState, tuple[SuggestionOffered, ...]]:
    if key in state.suggested:
        return state, ()
    state = replace(state, suggested=(*state.suggested, key), last_suggestion_at=at)
    return state, (SuggestionOffered(call_id=state.call_id, text=text, reason=reason, source=source, at=at),)
