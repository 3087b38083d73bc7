"""Diagnostics: each service's redacted report (``diagnostics.collect``) and the zip of all.

See docs/admin/diagnostics.rst for what is collected and how secrets are kept out.
"""

from peek_platform.diagnostics.bundle import (
    SERVICE_FILES,
    buildZip,
    defaultZipName,
    writeZipAtomically,
)
from peek_platform.diagnostics.collector import (
    DIAGNOSTICS_COMMAND,
    DiagnosticsCollector,
    registerDiagnostics,
)
from peek_platform.diagnostics.redaction import REDACTED, ConfigRedactor, redactUrls

__all__ = [
    "DIAGNOSTICS_COMMAND",
    "REDACTED",
    "SERVICE_FILES",
    "ConfigRedactor",
    "DiagnosticsCollector",
    "buildZip",
    "defaultZipName",
    "redactUrls",
    "registerDiagnostics",
    "writeZipAtomically",
]
