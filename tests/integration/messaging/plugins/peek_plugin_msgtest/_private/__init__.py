"""Private modules of the messaging test plugin."""
