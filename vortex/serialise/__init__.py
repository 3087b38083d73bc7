"""Private codec behind the vortex wire format (see docs/vortex/wire-format.rst)."""
