"""Code private to the noop plugin: other plugins must not import from here."""
