pytest_plugins = ["peek_platform.testing.pytest_plugin"]
