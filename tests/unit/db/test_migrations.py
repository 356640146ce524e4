"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from clarion.db.models import Base, ProviderDetails


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_providers_start_at_notifys_resting_points(engine: Engine) -> None:
    with engine.connect() as connection:
        rows = connection.execute(select(ProviderDetails.identifier, ProviderDetails.notification_type,
                                         ProviderDetails.priority, ProviderDetails.active)).all()
    assert sorted(rows) == [("dvla", "letter", 50, True), ("firetext", "sms", 49, True),
                            ("mmg", "sms", 51, True), ("ses", "email", 10, True), ("smtp", "email", 5, True)]
