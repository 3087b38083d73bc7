"""The vortex: tuples, payloads and the websocket transport Peek services talk over."""
