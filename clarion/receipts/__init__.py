"""Provider delivery receipts: status maps (maps), parsing (parse), caller checks (basic_auth, sns), bulk apply (apply).

A receipt travels: `clarion.api.receipts` authenticates and parses it → the receipts queue →
`clarion.worker.receipt_tasks` → `apply.apply_receipts`, which moves statuses by the table in
`clarion.delivery.status`. Submodules are imported by name; this package imports none of them, so a
worker that only applies receipts does not load the HTTP and certificate code.
"""

__all__ = ["apply", "basic_auth", "maps", "parse", "sns"]
