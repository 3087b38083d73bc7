"""The noop plugin's code that runs on the logic service."""

from pathlib import Path

#: The admin page (plain HTML, ES modules and CSS), served at /peek_plugin_noop/ on admin.
ADMIN_APP_DIR = Path(__file__).resolve().parent.parent / "admin-app"
