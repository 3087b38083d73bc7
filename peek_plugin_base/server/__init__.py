"""Legacy names of the logic contract, as used by the manual's tutorial."""
