"""Controllers: the noop plugin's logic on the logic service."""
