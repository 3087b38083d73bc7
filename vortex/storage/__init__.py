"""Disk storage used by vortex handlers on field and office (internal)."""
