"""seed SMTP as a second email provider, a standby below SES

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Active, with a lower priority than SES (5 against 10): email goes to SES while it is active and,
once routing fails over, to the SMTP relay configured by SMTP_HOST. An operator promotes it with
`clarion providers set smtp --priority 20 --reason ...`.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _table(name: str) -> sa.TableClause:
    return sa.table(
        name, sa.column("id", sa.Uuid()), sa.column("display_name"), sa.column("identifier"), sa.column("priority"),
        sa.column("notification_type"), sa.column("active", sa.Boolean()),
        sa.column("supports_international", sa.Boolean()), sa.column("version"),
        sa.column("updated_at", sa.DateTime()), sa.column("created_by"), sa.column("reason"),
    )


def upgrade() -> None:
    row = {"id": uuid.uuid4(), "display_name": "SMTP relay", "identifier": "smtp", "priority": 5,
           "notification_type": "email", "active": True, "supports_international": False, "version": 1,
           "updated_at": datetime.utcnow(), "created_by": "migration", "reason": "Second email provider"}
    op.bulk_insert(_table("provider_details"), [row])
    op.bulk_insert(_table("provider_details_history"), [row])


def downgrade() -> None:
    op.execute("DELETE FROM provider_details_history WHERE identifier = 'smtp'")
    op.execute("DELETE FROM provider_details WHERE identifier = 'smtp'")
