pytest_plugins = ["peek_plugin_base.testing.pytest_plugin"]
