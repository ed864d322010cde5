"""routing desk: the agents' wellbeing ledger and debrief tasks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_ledger",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("shift_day", sa.String(length=10), nullable=False),
        sa.Column("exposure_minutes", sa.Float(), nullable=False),
        sa.Column("consecutive_high", sa.Integer(), nullable=False),
        sa.Column("break_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cooldown_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_call_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("need_break", sa.Boolean(), nullable=False),
        sa.Column("current_call_id", sa.String(length=160), nullable=True),
        sa.Column("segment_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calls_today", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "debrief_tasks",
        sa.Column("task_id", sa.String(length=240), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=160), nullable=False),
        sa.Column("intensity", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("debrief_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_debrief_tasks_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("debrief_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_debrief_tasks_status")
    op.drop_table("debrief_tasks")
    op.drop_table("agent_ledger")
