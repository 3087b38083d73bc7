"""Code the field and office services share: they serve the same pages to their devices."""

from pathlib import Path

#: The field and office web app (plain HTML, ES modules and CSS), served at /peek_plugin_noop/.
DEVICE_APP_DIR = Path(__file__).resolve().parent.parent / "device-app"
