"""Letters: the print provider client (DVLA), its wire format, and the signed callback token."""

from clarion.providers.letter.callback_token import CALLBACK_PATH, InvalidCallbackToken, LetterCallbackTokens
from clarion.providers.letter.client import LetterClient, PrintJob
from clarion.providers.letter.dvla import (
    DvlaClient,
    DvlaDuplicatePrintRequest,
    DvlaUnauthorised,
    dvla_client_from_settings,
)

__all__ = [
    "CALLBACK_PATH",
    "DvlaClient",
    "DvlaDuplicatePrintRequest",
    "DvlaUnauthorised",
    "InvalidCallbackToken",
    "LetterCallbackTokens",
    "LetterClient",
    "PrintJob",
    "dvla_client_from_settings",
]
