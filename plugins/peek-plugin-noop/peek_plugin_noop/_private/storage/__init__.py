"""The noop plugin's database tables (logic and worker services only)."""
