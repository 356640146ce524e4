"""The sandbox: simulated MMG, Firetext, SES (v2) and SMTP that speak the real wire formats and post
realistic delivery receipts back to clarion, so clarion runs, demonstrates, tests and benchmarks with
no provider account.

It knows the providers' wire formats on its own, like a real provider would, and never imports
clarion's provider clients or receipt handling (an import-linter contract holds this).
`app.py` lists the simulated providers and says how to add one; `control.py` lists the endpoints
that set faults and read counters; `clarion sandbox set` drives them from the command line.
"""

from clarion.sandbox.app import FAULT_PROVIDERS, HTTP_PROVIDERS, SandboxServer, create_app, run_sandbox
from clarion.sandbox.state import SandboxConfig

__all__ = ["FAULT_PROVIDERS", "HTTP_PROVIDERS", "SandboxConfig", "SandboxServer", "create_app", "run_sandbox"]
