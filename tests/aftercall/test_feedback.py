"""Patient feedback: CSAT and comments, analysed like a caller's words, stored redacted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calmline.aftercall.common import CallFilter
from calmline.aftercall.feedback import FeedbackBook
from tests.aftercall.conftest import START, quiet_call


@pytest.fixture
def book(played, call_engine):  # type: ignore[no-untyped-def]
    service, _clock = played
    quiet_call(service, "c-1", at=START)
    quiet_call(service, "practice-c-2", at=START + timedelta(hours=1))
    return FeedbackBook(service.db, call_engine.registry)


def _record(book: FeedbackBook, **kw):  # type: ignore[no-untyped-def]
    args = {"call_id": "c-1", "csat": 4, "comment": None, "source": "survey", "external_id": None}
    args.update(kw)
    return book.record(received_by="survey-tool", at=START + timedelta(hours=2), **args)


def test_feedback_with_risk_words_is_flagged_by_the_callers_analyzers(book: FeedbackBook) -> None:
    result = _record(book, csat=2, comment="honestly i still want to kill myself")
    assert result.created
    fb = result.feedback
    assert fb["risk"] is True
    assert any(f["type"] == "suicide_risk" and f["assertion"] == "present" for f in fb["findings"])
    assert all("evidence" not in f for f in fb["findings"])


def test_a_negated_mention_is_not_a_risk(book: FeedbackBook) -> None:
    fb = _record(
        book, csat=5, comment="the nurse was kind, i never wanted to kill myself, i just needed advice"
    )
    assert fb.feedback["risk"] is False


def test_comment_is_stored_redacted(book: FeedbackBook) -> None:
    fb = _record(book, comment="my name is maria gonzalez and my number is five five five one two one two")
    assert "gonzalez" not in fb.feedback["comment"] and "five five five" not in fb.feedback["comment"]
    assert book.for_call("c-1")[0]["comment"] == fb.feedback["comment"]


def test_the_same_survey_answer_is_stored_once(book: FeedbackBook) -> None:
    first = _record(book, external_id="resp-1")
    again = _record(book, external_id="resp-1", csat=1)
    assert first.created and not again.created
    assert again.feedback["id"] == first.feedback["id"] and again.feedback["csat"] == 4
    assert len(book.for_call("c-1")) == 1


def test_unknown_call_and_bad_csat_are_refused(book: FeedbackBook) -> None:
    with pytest.raises(KeyError):
        _record(book, call_id="nobody")
    with pytest.raises(ValueError):
        _record(book, csat=6)


def test_lists_leave_practice_calls_out(book: FeedbackBook) -> None:
    _record(book)
    _record(book, call_id="practice-c-2")
    assert [f["call_id"] for f in book.list()] == ["c-1"]
    assert book.list(CallFilter(queue="billing")) == []
