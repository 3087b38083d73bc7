"""The ``peek`` admin command line: one module per top-level command."""
