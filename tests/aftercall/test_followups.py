"""Caring contacts: tasks from the protocols' follow-ups, due by tier, assigned, closed, overdue."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from calmline.aftercall.followup_policy import load_policy, parse_policy
from calmline.aftercall.followups import FollowupDesk, FollowupError
from calmline.clock import FakeClock
from calmline.configfile import ConfigError
from calmline.service import CallService
from calmline.store.audit import AuditLog
from calmline.store.schema import webhook_outbox
from calmline.webhooks import WebhookOutbox, parse_webhooks
from tests.aftercall.conftest import IMMINENT, START, play, quiet_call

HOOKS = """endpoints:
  - name: outreach
    url: http://127.0.0.1:9/hook
    secret: 0123456789abcdef0123
    events: [followup.due, followup.overdue, call.ended]
"""


def test_imminent_call_opens_one_task_due_within_24h_and_calm_calls_none(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    call_id = play(service, clock, IMMINENT)
    quiet_call(service, "calm-1", at=START + timedelta(hours=1))
    desk = FollowupDesk(service.db)
    opened = desk.sync(clock.now())
    assert opened == [f"{call_id}:suicide_risk"]
    assert desk.sync(clock.now()) == []  # the cursor moved on: nothing is opened twice
    (task,) = desk.list(clock.now())
    assert (
        task["reason"] == "suicide_risk" and task["tier"] == "imminent" and task["team"] == "crisis-followup"
    )
    assert task["protocol"] == "suicide_imminent" and task["status"] == "open"
    assert task["due_at"] == "2026-03-02T14:31:22Z"


def test_a_fresh_desk_does_not_reopen_tasks(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    play(service, clock, IMMINENT)
    FollowupDesk(service.db).sync(clock.now())
    assert FollowupDesk(service.db).sync(clock.now()) == []


def test_practice_calls_never_get_a_follow_up(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    play(service, clock, IMMINENT, prefix="practice-demo")
    desk = FollowupDesk(service.db)
    assert desk.sync(clock.now()) == [] and desk.list(clock.now()) == []


def test_overdue_tasks_are_flagged_once_and_announced_by_webhook(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    call_id = play(service, clock, IMMINENT)
    desk = FollowupDesk(service.db, webhooks=parse_webhooks(HOOKS, "hooks.yaml"))
    assert desk.tick(clock.now()).opened
    assert desk.tick(clock.now() + timedelta(hours=23)).overdue == ()
    late = clock.now() + timedelta(hours=25)
    assert desk.tick(late).overdue == (f"{call_id}:suicide_risk",)
    assert desk.tick(late + timedelta(hours=1)).overdue == ()
    with service.db.connect() as conn:
        rows = conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id)).all()
    assert [r.event_type for r in rows] == ["followup.due", "followup.overdue"]
    body = json.loads(rows[1].payload)
    assert body["call_id"] == call_id and body["data"]["overdue"] is True
    assert "outcome_note" not in body["data"]
    assert all(r.event_id < 0 for r in rows)


def test_assign_and_complete_with_outcome_codes(played) -> None:  # type: ignore[no-untyped-def]
    service, clock = played
    play(service, clock, IMMINENT)
    desk = FollowupDesk(service.db)
    (task_id,) = desk.sync(clock.now())
    now = clock.now()
    assert desk.assign(task_id, assignee="nina", team=None, actor="sam", now=now)["assignee"] == "nina"
    attempt = desk.record_outcome(task_id, outcome="no_answer", note=None, actor="nina", now=now)
    assert attempt["status"] == "open" and attempt["attempts"] == 1
    done = desk.record_outcome(
        task_id, outcome="reached_safe", note="safety plan reviewed", actor="nina", now=now
    )
    assert done["status"] == "done" and done["completed_by"] == "nina" and done["attempts"] == 2
    with pytest.raises(FollowupError) as closed:
        desk.record_outcome(task_id, outcome="reached_safe", note=None, actor="nina", now=now)
    assert closed.value.code == "closed"
    with pytest.raises(FollowupError) as bad:
        desk.record_outcome("nope", outcome="reached_safe", note=None, actor="nina", now=now)
    assert bad.value.code == "not_found"
    actions = [e.action for e in AuditLog(service.db).entries("followup:")]
    assert actions == ["followup.assign", "followup.outcome", "followup.outcome"]
    assert "safety plan" not in repr([e.detail for e in AuditLog(service.db).entries("followup:")])


def test_unknown_outcome_is_refused(db: Engine) -> None:
    desk = FollowupDesk(db)
    with pytest.raises(FollowupError) as exc:
        desk.record_outcome("x", outcome="vanished", note=None, actor="a", now=START)
    assert exc.value.code == "bad_outcome"


def test_policy_caps_the_due_time_by_tier() -> None:
    policy = load_policy()
    due = START + timedelta(hours=72)
    assert policy.due_at(due, START, "high") == START + timedelta(hours=48)
    assert policy.due_at(due, START, None) == due
    assert policy.due_at(START + timedelta(hours=12), START, "imminent") == START + timedelta(hours=12)


def test_policy_errors_name_the_line() -> None:
    text = (
        'version: "1"\nprotocols:\n  a: {reason: r}\nreasons: {r: [suicide_risk]}\n'
        "max_due_h: {urgent: 2}\noutcomes: {ok: {}}\n"
    )
    with pytest.raises(ConfigError, match=r"^p.yaml:1: .*unknown tier"):
        parse_policy(text, "p.yaml")


def test_call_ended_is_queued_for_endpoints_that_subscribe(db: Engine, call_engine) -> None:  # type: ignore[no-untyped-def]
    outbox = WebhookOutbox(parse_webhooks(HOOKS, "hooks.yaml"))
    service = CallService(db, call_engine, FakeClock(START), on_append=[outbox.apply])
    quiet_call(service, "calm-2", at=START)
    with service.db.connect() as conn:
        types = [r.event_type for r in conn.execute(select(webhook_outbox))]
    assert types == ["call.ended"]


def test_practice_calls_are_never_delivered(db: Engine, call_engine) -> None:  # type: ignore[no-untyped-def]
    outbox = WebhookOutbox(
        parse_webhooks(HOOKS.replace("call.ended]", "call.ended, alert.raised]"), "h.yaml")
    )
    service = CallService(db, call_engine, FakeClock(START), on_append=[outbox.apply])
    play(service, service.clock, IMMINENT, prefix="practice-drill")  # type: ignore[arg-type]
    quiet_call(service, "practice-calm", at=START)
    with service.db.connect() as conn:
        assert conn.execute(select(webhook_outbox)).first() is None
