"""Errors an operator operation raises; the CLI prints them and the operator API maps them to 400/404."""


class ManageError(Exception):
    """An operator request that cannot be carried out; the message says what to change."""


class NotFound(ManageError):
    """The named object does not exist."""
