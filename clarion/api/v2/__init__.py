"""The public API, wire-compatible with GOV.UK Notify's /v2 (reference/notify-client-wire.md)."""
