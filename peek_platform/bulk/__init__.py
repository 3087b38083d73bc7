"""Bulk data sync, the runtime of ``peek_plugin_base.bulk`` (``docs/dev/bulk-sync.rst``):
the queue and compiler (logic and worker), the chunk store and HTTP protocol (field and
office) and the device client."""
