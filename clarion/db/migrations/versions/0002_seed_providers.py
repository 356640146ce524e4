"""seed the provider rows of GOV.UK Notify: MMG and Firetext at their 51/49 resting points, SES, DVLA

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PROVIDERS = [
    # identifier, display name, type, priority, supports international
    ("mmg", "MMG", "sms", 51, True),
    ("firetext", "Firetext", "sms", 49, True),
    ("ses", "AWS SES", "email", 10, False),
    ("dvla", "DVLA", "letter", 50, False),
]


def _columns() -> list[sa.ColumnClause]:
    return [
        sa.column("id", sa.Uuid()), sa.column("display_name"), sa.column("identifier"), sa.column("priority"),
        sa.column("notification_type"), sa.column("active", sa.Boolean()),
        sa.column("supports_international", sa.Boolean()), sa.column("version"),
        sa.column("updated_at", sa.DateTime()), sa.column("created_by"), sa.column("reason"),
    ]


def upgrade() -> None:
    now = datetime.utcnow()
    details = sa.table(
        "provider_details",
        *_columns(),
    )
    history = sa.table("provider_details_history", *_columns())
    rows = [
        {"id": uuid.uuid4(), "display_name": name, "identifier": identifier, "priority": priority,
         "notification_type": kind, "active": True, "supports_international": international, "version": 1,
         "updated_at": now, "created_by": "migration", "reason": "Initial provider set"}
        for identifier, name, kind, priority, international in PROVIDERS
    ]
    op.bulk_insert(details, rows)
    op.bulk_insert(history, rows)


def downgrade() -> None:
    op.execute("DELETE FROM provider_details_history")
    op.execute("DELETE FROM provider_details")
