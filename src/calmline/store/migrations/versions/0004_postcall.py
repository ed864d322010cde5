"""after the call: QA scorecard overrides, follow-up (caring contact) tasks, patient feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "qa_reviews",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=160), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("auto_score", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("qa_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_qa_reviews_call", ["call_id", "item_id", "reviewer", "id"], unique=False)
        batch_op.create_index("ix_qa_reviews_form_item", ["form_id", "item_id"], unique=False)

    op.create_table(
        "followups",
        sa.Column("followup_id", sa.String(length=200), nullable=False),
        sa.Column("call_id", sa.String(length=160), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("protocol", sa.String(length=80), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("source_event_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=64), nullable=True),
        sa.Column("due_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("followup_id"),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index("ix_followups_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_followups_call", ["call_id"], unique=False)

    op.create_table(
        "patient_feedback",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=160), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("distress", sa.Float(), nullable=True),
        sa.Column("risk", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_patient_feedback_source_external"),
    )
    with op.batch_alter_table("patient_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_patient_feedback_call", ["call_id"], unique=False)
        batch_op.create_index("ix_patient_feedback_received", ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patient_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_feedback_received")
        batch_op.drop_index("ix_patient_feedback_call")
    op.drop_table("patient_feedback")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_call")
        batch_op.drop_index("ix_followups_status_due")
    op.drop_table("followups")
    with op.batch_alter_table("qa_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_qa_reviews_form_item")
        batch_op.drop_index("ix_qa_reviews_call")
    op.drop_table("qa_reviews")
