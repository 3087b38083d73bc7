"""Vortex RPC: call functions registered in another service as if they were local."""
