"""complaints: SES complaints about emails, recorded apart from the notification's status

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("ses_feedback_id", sa.String(length=255), nullable=True),
        sa.Column("complaint_type", sa.String(length=255), nullable=True),
        sa.Column("complaint_date", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ses_feedback_id"),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.create_index("ix_complaints_notification_id", ["notification_id"], unique=False)
        batch.create_index("ix_complaints_service_created", ["service_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("complaints")
