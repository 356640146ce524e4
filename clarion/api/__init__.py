"""The HTTP API: the public Notify-compatible /v2 API, the operator API, metrics and the app factory.

`clarion.api.app.create_app(settings)` builds the app; nothing is built at import.
"""
