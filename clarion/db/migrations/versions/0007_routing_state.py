"""routing state: the guards of the load-balancing policy, fault windows, and old weights in history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

`routing_state` holds, per channel, when a provider's weight last changed and when traffic was last
moved away from a provider; every automatic change locks its channel's row, so concurrent workers
make one change per guard window. `provider_fault_windows` counts faults per provider when more
than one fault is needed to move weight. History rows gain the weight before the change.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "routing_state",
        sa.Column("notification_type", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("moved_away_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("notification_type"),
    )
    op.bulk_insert(state, [{"notification_type": name} for name in ("sms", "email", "letter")])
    op.create_table(
        "provider_fault_windows",
        sa.Column("notification_type", sa.String(length=16), nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.Column("faults", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("notification_type", "identifier"),
    )
    with op.batch_alter_table("provider_details_history") as batch:
        batch.add_column(sa.Column("previous_priority", sa.Integer(), nullable=True))
        batch.create_index("ix_provider_details_history_type_updated", ["notification_type", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("provider_details_history") as batch:
        batch.drop_index("ix_provider_details_history_type_updated")
        batch.drop_column("previous_priority")
    op.drop_table("provider_fault_windows")
    op.drop_table("routing_state")
