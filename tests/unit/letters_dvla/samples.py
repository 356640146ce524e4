"""One letter as the DVLA tests send it, and the credentials they use."""

from __future__ import annotations

from clarion.providers.letter import LetterCallbackTokens, PrintJob

USERNAME, PASSWORD, API_KEY = "clarion-user", "s3cret-Pa55!", "dvla-api-key-123"
API_HOST = "https://api.clarion.example"
SECRET = "test-secret-key"
TOKENS = LetterCallbackTokens(SECRET)
NOTIFICATION_ID = "5f3c6a8e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
SERVICE_ID = "0b6a8c1e-2f3d-4e5a-8b7c-9d0e1f2a3b4c"
ORGANISATION_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
PDF = b"%PDF-1.7\n% a letter, as far as the client cares\n%%EOF\n"
JOB = PrintJob(notification_id=NOTIFICATION_ID, reference="ABCDEFGH12345678",
               address_lines=("Ms A Person", "Flat 2", "10 High Street", "Townsville", "SW1A 1AA"),
               postage="first", service_id=SERVICE_ID, organisation_id=ORGANISATION_ID)
