"""The text message providers: MMG (JSON) and Firetext (form-encoded), each built from Settings."""

from clarion.providers.sms.firetext import FiretextClient, firetext_client_from_settings
from clarion.providers.sms.mmg import MmgClient, mmg_client_from_settings

__all__ = ["FiretextClient", "MmgClient", "firetext_client_from_settings", "mmg_client_from_settings"]
