"""Errors an operator operation raises; the CLI prints them and the operator API maps them to 400/404."""


class ManageError(Exception):
    """An operator request that cannot be carried out; the message says what to change."""


class NotFound(ManageError):
    """The named object does not exist."""


MAX_NAME_LENGTH = 255
MAX_COUNT = 2**31 - 1  # an INTEGER column


def check_name(value: str, what: str) -> None:
    """Refuse an empty or over-long name, or one with a NUL character (PostgreSQL cannot store it)."""
    if not value.strip():
        raise ManageError(f"{what} needs a name")
    if len(value) > MAX_NAME_LENGTH or "\x00" in value:
        raise ManageError(f"{what}'s name must be at most {MAX_NAME_LENGTH} characters, with no NUL character")


def check_count(value: object, what: str) -> None:
    """Refuse a limit that is not a whole number from 0 to MAX_COUNT."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ManageError(f"{what} must be a whole number from 0 to {MAX_COUNT}")
