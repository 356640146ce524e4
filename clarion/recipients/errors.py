"""Recipient validation errors; the message is what the API shows after the field name."""


class InvalidRecipient(ValueError):
    """A phone number or email address that cannot be sent to; str() says what is wrong."""


class InvalidPhoneNumber(InvalidRecipient):
    """A phone number that is not a valid mobile number (or not allowed here)."""


class InvalidEmailAddress(InvalidRecipient):
    """An email address that is not valid."""
