"""Observables, tuple actions, their proxies and Python clients (docs/vortex/messaging.rst)."""
