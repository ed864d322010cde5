"""Helpers for the clinical tables: run the default registry on one utterance."""

from __future__ import annotations

from functools import lru_cache

from calmline.analysis import AnalysisContext, AnalyzerRegistry, Turn, default_registry
from calmline.events import RISK_TYPES, Finding


@lru_cache(maxsize=1)
def registry() -> AnalyzerRegistry:
    reg = default_registry()
    reg.setup()
    return reg


def run(text: str, speaker: str = "caller", history: tuple[Turn, ...] = ()) -> tuple[Finding, ...]:
    return registry().run(AnalysisContext(text=text, speaker=speaker, history=history))  # type: ignore[arg-type]


def of_type(text: str, type_: str, speaker: str = "caller") -> list[Finding]:
    return [f for f in run(text, speaker) if f.type == type_]


def risks(text: str, speaker: str = "caller") -> list[Finding]:
    return [f for f in run(text, speaker) if f.type in RISK_TYPES]


def check(found: list[Finding], level: str | None, assertion: str, experiencer: str) -> Finding | None:
    """Assert one finding matches (level None: nothing fires at all) and return it."""
    if level is None:
        assert found == [], [(f.type, f.level, f.assertion) for f in found]
        return None
    match = [f for f in found if f.level == level]
    assert match, f"no {level} finding in {[(f.level, f.assertion) for f in found]}"
    f = match[0]
    assert (f.assertion, f.experiencer) == (assertion, experiencer), (f.assertion, f.experiencer, f.modifiers)
    assert f.evidence and all(0 <= a < b for a, b in f.evidence)
    assert f.analyzer and f.analyzer_version and f.rule_id
    assert f.score_before_context is not None
    if assertion in ("negated", "historical", "hypothetical"):
        assert f.score < f.score_before_context
        assert f.modifiers, "a non-present finding must say which trigger made it so"
    return f
