"""recipients as text: email addresses run to 320 characters and letter addresses to seven lines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("to", type_=sa.Text(), existing_type=sa.String(255), existing_nullable=False)
        batch.alter_column("normalised_to", type_=sa.Text(), existing_type=sa.String(255), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("to", type_=sa.String(255), existing_type=sa.Text(), existing_nullable=False)
        batch.alter_column("normalised_to", type_=sa.String(255), existing_type=sa.Text(), existing_nullable=False)
