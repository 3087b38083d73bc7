"""The noop plugin's ``peek noop ...`` commands (declared in plugin_package.json)."""
