"""caller continuity: pseudonymous callers, call links, safety plans, screenings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "callers",
        sa.Column("caller_ref", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into", sa.String(length=128), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("caller_ref"),
    )
    op.create_table(
        "caller_links",
        sa.Column("call_id", sa.String(length=160), nullable=False),
        sa.Column("caller_ref", sa.String(length=128), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("call_id"),
    )
    with op.batch_alter_table("caller_links", schema=None) as batch_op:
        batch_op.create_index("ix_caller_links_caller", ["caller_ref"], unique=False)
    op.create_table(
        "safety_plans",
        sa.Column("plan_id", _Id, autoincrement=True, nullable=False),
        sa.Column("caller_ref", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=160), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
        sa.UniqueConstraint("caller_ref", "version", name="uq_safety_plans_caller_version"),
    )
    op.create_table(
        "caller_screenings",
        sa.Column("screening_id", _Id, autoincrement=True, nullable=False),
        sa.Column("caller_ref", sa.String(length=128), nullable=False),
        sa.Column("call_id", sa.String(length=160), nullable=True),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("screening_id"),
    )
    with op.batch_alter_table("caller_screenings", schema=None) as batch_op:
        batch_op.create_index("ix_caller_screenings_caller", ["caller_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("caller_screenings", schema=None) as batch_op:
        batch_op.drop_index("ix_caller_screenings_caller")
    op.drop_table("caller_screenings")
    op.drop_table("safety_plans")
    with op.batch_alter_table("caller_links", schema=None) as batch_op:
        batch_op.drop_index("ix_caller_links_caller")
    op.drop_table("caller_links")
    op.drop_table("callers")
