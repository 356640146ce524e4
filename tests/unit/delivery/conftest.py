from tests.unit.delivery.factory import add_notification  # noqa: F401  (fixture)
