"""protocol sets, audit log, alert acknowledgement deadlines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "protocol_sets",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("set_id", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_protocol_sets_set_id", "protocol_sets", ["set_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ack_deadline", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_alerts_deadline", ["ack_deadline"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_deadline")
        batch_op.drop_column("ack_deadline")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("notify")
    op.drop_table("audit_log")
    op.drop_index("ix_protocol_sets_set_id", table_name="protocol_sets")
    op.drop_table("protocol_sets")
