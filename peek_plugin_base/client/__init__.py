"""Legacy names of the field/office contract, as used by the manual's tutorial."""
