"""Scaffolding of new plugin projects from the noop plugin (``peek plugin new``)."""
