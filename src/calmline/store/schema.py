"""Tables: the append-only event log, the inbox of held (out-of-order) events, read models, and people.

The log is the source of truth. ``calls``, ``alerts`` and ``findings`` are projections that
``calmline rebuild`` recomputes from it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

_Id = BigInteger().with_variant(Integer, "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("stream", String(160), nullable=False),
    Column("pos", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("type", String(40), nullable=False),
    Column("seq", Integer, nullable=True),
    Column("cause", Integer, nullable=True),
    Column("payload", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("stream", "pos", name="uq_events_stream_pos"),
    UniqueConstraint("stream", "seq", name="uq_events_stream_seq"),
)

held_events = Table(
    "held_events",
    metadata,
    Column("stream", String(160), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("payload", Text, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
)

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(160), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("language", String(16), nullable=False),
    Column("agent_id", String(64), nullable=True),
    Column("reason", String(256), nullable=True),
    Column("site", String(64), nullable=True, index=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("last_event_at", DateTime(timezone=True), nullable=True),
    Column("utterances", Integer, nullable=False, default=0),
    Column("findings", Integer, nullable=False, default=0),
    Column("open_alerts", Integer, nullable=False, default=0),
    Column("max_severity", String(16), nullable=True),
    Column("max_severity_rank", Integer, nullable=False, default=-1),
    Column("distress", Float, nullable=True),
    Column("escalating", Boolean, nullable=False, default=False),
    Column("risk_types", JSON, nullable=False),
    Column("gaps", Integer, nullable=False, default=0),
    Column("last_pos", Integer, nullable=False, default=0),
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(200), primary_key=True),
    Column("call_id", String(160), nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("severity_rank", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_by", String(64), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("outcome", String(256), nullable=True),
    Column("policy_rule", String(80), nullable=False),
    Column("policy_version", String(40), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("notify", String(40), nullable=True),
    Column("escalation_level", Integer, nullable=True),
    Column("ack_deadline", DateTime(timezone=True), nullable=True),
)

findings = Table(
    "findings",
    metadata,
    Column("call_id", String(160), primary_key=True),
    Column("pos", Integer, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("level", String(40), nullable=False),
    Column("tier", String(16), nullable=True),
    Column("category", String(40), nullable=True),
    Column("score", Float, nullable=False),
    Column("assertion", String(16), nullable=False),
    Column("experiencer", String(16), nullable=False),
    Column("speaker", String(16), nullable=False),
    Column("utterance_seq", Integer, nullable=True),
    Column("analyzer", String(80), nullable=False),
    Column("analyzer_version", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("display_name", String(128), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(128), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

#: Issuer and subject of each person who signed in through an IdP, and the local user they are (0009).
external_identities = Table(
    "external_identities",
    metadata,
    Column("issuer", String(512), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("email", String(320), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=False),
)
Index("ix_external_identities_username", external_identities.c.username, unique=True)

protocol_sets = Table(
    "protocol_sets",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("set_id", String(64), nullable=False, index=True),
    Column("documents", JSON, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

Index("ix_alerts_deadline", alerts.c.ack_deadline)
Index("ix_calls_status_rank", calls.c.status, calls.c.max_severity_rank)
Index("ix_alerts_status", alerts.c.status, alerts.c.severity_rank)

# -- webhooks (calmline.webhooks): the durable outbox, written in the append transaction -------------------
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("endpoint", String(64), nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("call_id", String(160), nullable=False),
    Column("alert_id", String(200), nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("dead_at", DateTime(timezone=True), nullable=True),
    Column("last_error", String(200), nullable=True),
    UniqueConstraint("endpoint", "event_id", name="uq_webhook_outbox_endpoint_event"),
)
Index(
    "ix_webhook_outbox_pending",
    webhook_outbox.c.delivered_at,
    webhook_outbox.c.dead_at,
    webhook_outbox.c.next_attempt_at,
)
Index("ix_webhook_outbox_call", webhook_outbox.c.endpoint, webhook_outbox.c.call_id, webhook_outbox.c.id)

# -- after the call (calmline.aftercall): QA overrides, follow-up tasks, patient feedback (migration 0004) ---
qa_reviews = Table(
    "qa_reviews",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("call_id", String(160), nullable=False),
    Column("form_id", String(64), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("score", Float, nullable=True),
    Column("auto_score", Float, nullable=True),
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index(
    "ix_qa_reviews_call", qa_reviews.c.call_id, qa_reviews.c.item_id, qa_reviews.c.reviewer, qa_reviews.c.id
)
Index("ix_qa_reviews_form_item", qa_reviews.c.form_id, qa_reviews.c.item_id)

followups = Table(
    "followups",
    metadata,
    Column("followup_id", String(200), primary_key=True),
    Column("call_id", String(160), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("tier", String(16), nullable=True),
    Column("protocol", String(80), nullable=True),
    Column("kind", String(64), nullable=False),
    Column("source_event_id", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(64), nullable=True),
    Column("team", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("outcome", String(32), nullable=True),
    Column("outcome_note", Text, nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("completed_by", String(64), nullable=True),
    Column("due_notified_at", DateTime(timezone=True), nullable=True),
    Column("overdue_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_followups_status_due", followups.c.status, followups.c.due_at)
Index("ix_followups_call", followups.c.call_id)

patient_feedback = Table(
    "patient_feedback",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("call_id", String(160), nullable=False),
    Column("external_id", String(128), nullable=True),
    Column("source", String(64), nullable=False),
    Column("csat", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("analysis", JSON, nullable=False),
    Column("distress", Float, nullable=True),
    Column("risk", Boolean, nullable=False, default=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("received_by", String(64), nullable=False),
    UniqueConstraint("source", "external_id", name="uq_patient_feedback_source_external"),
)
Index("ix_patient_feedback_call", patient_feedback.c.call_id)
Index("ix_patient_feedback_received", patient_feedback.c.received_at)

# -- security (calmline.security): wrapped data keys, legal holds, what retention has purged ----------------
data_keys = Table(
    "data_keys",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("kek_id", String(64), nullable=False, index=True),
    Column("wrapped", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rewrapped_at", DateTime(timezone=True), nullable=True),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("call_id", String(160), primary_key=True),
    Column("reason", String(500), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

retention_marks = Table(
    "retention_marks",
    metadata,
    Column("call_id", String(160), primary_key=True),
    Column("data_class", String(32), primary_key=True),
    Column("purged_at", DateTime(timezone=True), nullable=False),
)

# -- routing desk (calmline.routing_desk): each agent's wellbeing ledger for the shift, debrief tasks ------
agent_ledger = Table(
    "agent_ledger",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("shift_day", String(10), nullable=False),
    Column("exposure_minutes", Float, nullable=False),
    Column("consecutive_high", Integer, nullable=False),
    Column("break_until", DateTime(timezone=True), nullable=True),
    Column("cooldown_until", DateTime(timezone=True), nullable=True),
    Column("last_call_ended_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("need_break", Boolean, nullable=False),
    Column("current_call_id", String(160), nullable=True),
    Column("segment_started_at", DateTime(timezone=True), nullable=True),
    Column("calls_today", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

debrief_tasks = Table(
    "debrief_tasks",
    metadata,
    Column("task_id", String(240), primary_key=True),
    Column("agent_id", String(64), nullable=False),
    Column("call_id", String(160), nullable=False),
    Column("intensity", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("assigned_to", String(64), nullable=True),
    Column("done_at", DateTime(timezone=True), nullable=True),
    Column("done_by", String(64), nullable=True),
)
Index("ix_debrief_tasks_status", debrief_tasks.c.status)

# -- caller continuity (calmline.continuity): pseudonymous callers, call links, safety plans, screenings -----
# ``caller_ref`` is a keyed hash (HMAC-SHA256) of the number or patient identifier, never the raw value.
callers = Table(
    "callers",
    metadata,
    Column("caller_ref", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("merged_into", String(128), nullable=True),
    Column("merged_at", DateTime(timezone=True), nullable=True),
)

caller_links = Table(
    "caller_links",
    metadata,
    Column("call_id", String(160), primary_key=True),
    Column("caller_ref", String(128), nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),
)
Index("ix_caller_links_caller", caller_links.c.caller_ref)

safety_plans = Table(
    "safety_plans",
    metadata,
    Column("plan_id", _Id, primary_key=True, autoincrement=True),
    Column("caller_ref", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("call_id", String(160), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("content", JSON, nullable=False),
    UniqueConstraint("caller_ref", "version", name="uq_safety_plans_caller_version"),
)

caller_screenings = Table(
    "caller_screenings",
    metadata,
    Column("screening_id", _Id, primary_key=True, autoincrement=True),
    Column("caller_ref", String(128), nullable=False),
    Column("call_id", String(160), nullable=True),
    Column("instrument", String(32), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("tier", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
)
Index("ix_caller_screenings_caller", caller_screenings.c.caller_ref)
