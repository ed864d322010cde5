"""QA scorecard: the form and its errors; items scored from the log; overrides, calibration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from calmline.aftercall.qa_form import load_form, parse_form, score_call
from calmline.aftercall.qa_reviews import QaReviews, Review, calibrate, scorecard
from calmline.configfile import ConfigError
from calmline.events import CallerVerified, CallStarted, Finding, FindingEmitted
from calmline.postcall import call_events
from calmline.store.audit import AuditLog
from tests.aftercall.conftest import IMMINENT, play

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

GOOD = """form_id: f
version: "1"
title: t
items:
  - id: a
    kind: protocol_adherence
    title: A
"""


def test_shipped_form_loads_with_every_item_kind() -> None:
    form = load_form()
    assert {i.kind for i in form.items} == {
        "empathy_profile",
        "protocol_adherence",
        "time_to_escalation",
        "guardrail_violations",
        "verification_before_disclosure",
    }


def test_form_error_names_the_file_and_line_of_the_mistake() -> None:
    bad = (
        GOOD + "  - id: b\n    kind: time_to_escalation\n    title: B\n    target_s: 60\n    limit_s: nope\n"
    )
    with pytest.raises(ConfigError) as exc:
        parse_form(bad, "mine.yaml")
    assert str(exc.value).startswith("mine.yaml:12: items.1.time_to_escalation.limit_s")


def test_form_refuses_unknown_kinds_and_duplicate_ids() -> None:
    with pytest.raises(ConfigError, match=r"mine\.yaml:5: items\.0"):
        parse_form(GOOD.replace("protocol_adherence", "vibes"), "mine.yaml")
    with pytest.raises(ConfigError, match="duplicate item id"):
        parse_form(GOOD + "  - id: a\n    kind: protocol_adherence\n    title: again\n", "mine.yaml")


def _guardrail(level: str, severity: str, seq: int) -> FindingEmitted:
    finding = Finding(
        type="guardrail",
        level=level,
        score=0.9,
        category=severity,
        speaker="agent",
        utterance_seq=seq,
        analyzer="guardrail",
        analyzer_version="1",
    )
    return FindingEmitted(call_id="c1", finding=finding, at=T)


def test_guardrail_and_verification_items_score_from_the_agents_findings() -> None:
    events = [
        CallStarted(call_id="c1", started_at=T),
        _guardrail("false_reassurance", "warning", 3),
        _guardrail("unverified_disclosure", "high", 5),
    ]
    card = {i.item_id: i for i in score_call(load_form(), "c1", events).items}
    assert card["guardrails"].score == 0.25
    assert card["guardrails"].evidence["warning"] == 1 and card["guardrails"].evidence["high"] == 1
    assert card["verification"].score == 0.0
    assert card["verification"].evidence["disclosures_before_verification"][0]["utterance_seq"] == 5
    assert card["empathy"].score is None  # no agent turns: not applicable
    assert card["protocol_adherence"].score is None


def test_a_verified_call_without_disclosure_scores_full_on_verification() -> None:
    events = [
        CallStarted(call_id="c1", started_at=T),
        CallerVerified(call_id="c1", relation="self", method="dob", by="agent", at=T),
    ]
    item = next(i for i in score_call(load_form(), "c1", events).items if i.item_id == "verification")
    assert item.score == 1.0 and item.evidence["caller_verified"] is True


def test_imminent_call_scores_adherence_and_escalation_with_evidence(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    call_id = play(service, clock, IMMINENT)
    auto = score_call(load_form(), call_id, call_events(service.log, call_id))
    items = {i.item_id: i for i in auto.items}
    adherence = items["protocol_adherence"]
    assert adherence.score is not None and 0 <= adherence.score <= 1
    assert adherence.evidence["protocols"][0]["protocol_id"] == "suicide_imminent"
    assert items["time_to_escalation"].evidence["alerts"][0]["kind"] == "suicide_risk"
    assert items["empathy"].score is not None
    assert "text" not in repr(auto)  # evidence carries ids and times, never words


def test_override_is_stored_audited_and_becomes_the_effective_score(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    call_id = play(service, clock, IMMINENT)
    form = load_form()
    reviews = QaReviews(service.db)
    auto = score_call(form, call_id, call_events(service.log, call_id))
    reviews.override(
        call_id=call_id,
        form=form,
        item_id="empathy",
        reviewer="quinn",
        score=0.4,
        auto_score=auto.items[0].score,
        comment="talked over the caller twice",
        at=clock.now(),
    )
    card = scorecard(form, auto, reviews.for_call(call_id))
    empathy = card["items"][0]
    assert empathy["score"] == 0.4 and empathy["overridden"] and empathy["auto_score"] == auto.items[0].score
    assert empathy["reviews"][0]["comment"] == "talked over the caller twice"
    entry = AuditLog(service.db).entries("qa:")[-1]
    assert entry.action == "qa.override" and entry.actor == "quinn"
    assert "talked" not in repr(entry.detail)
    assert AuditLog(service.db).check().ok


def test_override_needs_a_comment_and_a_known_item(db: Engine) -> None:
    form = load_form()
    reviews = QaReviews(db)
    with pytest.raises(ValueError, match="comment"):
        reviews.override(
            call_id="c1",
            form=form,
            item_id="empathy",
            reviewer="q",
            score=1.0,
            auto_score=None,
            comment=" ",
            at=T,
        )
    with pytest.raises(KeyError):
        reviews.override(
            call_id="c1",
            form=form,
            item_id="nope",
            reviewer="q",
            score=1.0,
            auto_score=None,
            comment="x",
            at=T,
        )


def _r(call: str, item: str, who: str, score: float | None, auto: float | None) -> Review:
    return Review(0, call, "default", item, who, score, auto, "c", T)


def test_calibration_measures_agreement_between_reviewers_and_with_auto() -> None:
    reviews = [
        _r("c1", "empathy", "a", 0.5, 0.5),
        _r("c1", "empathy", "b", 0.55, 0.5),  # agrees with a (tolerance 0.1) and with auto
        _r("c2", "empathy", "a", 0.2, 0.9),
        _r("c2", "empathy", "b", 0.9, 0.9),  # disagrees with a
    ]
    cal = calibrate(load_form(), reviews)
    item = next(i for i in cal["items"] if i["item_id"] == "empathy")
    assert item["reviewer_pairs"] == 2 and item["reviewer_agreement"] == 0.5
    assert item["auto_agreement"] == 0.75
    assert item["reviewer_mean_abs_diff"] == pytest.approx(0.375)
    by = {r["reviewer"]: r for r in cal["reviewers"]}
    assert by["a"]["mean_abs_diff_from_auto"] == pytest.approx(0.35)


def test_calibration_leaves_practice_calls_out(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    real = play(service, clock, IMMINENT)
    practice = play(service, clock, IMMINENT, prefix="practice-t")
    form = load_form()
    reviews = QaReviews(service.db)
    for call_id in (real, practice):
        for who in ("a", "b"):
            reviews.override(
                call_id=call_id,
                form=form,
                item_id="empathy",
                reviewer=who,
                score=1.0,
                auto_score=1.0,
                comment="ok",
                at=clock.now(),
            )
    item = next(i for i in reviews.calibration(form)["items"] if i["item_id"] == "empathy")
    assert item["calls_reviewed"] == 1 and item["reviews"] == 2
