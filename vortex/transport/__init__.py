"""Websocket transport of the vortex: authenticated links moving opaque binary messages.

Knows nothing of payloads or tuples; ``VortexFactory`` connects this layer to them.
Protocol reference for other clients: ``docs/vortex/transport.rst``.
"""

from vortex.transport.backoff import Backoff
from vortex.transport.chunking import ReassemblyBudget
from vortex.transport.client import VortexClient
from vortex.transport.connection_core import VortexConnectionCore, VortexLinkClosedError
from vortex.transport.device_quota import DeviceLinkQuota, DeviceQuotaLimits
from vortex.transport.handshake import (
    CLOSE_DEVICE_LIMIT,
    CLOSE_LOGIN_REQUIRED,
    CLOSE_SESSION_ENDED,
    PeerIdentity,
)
from vortex.transport.limits import TransportLimits
from vortex.transport.protocol import VortexConnection
from vortex.transport.server import VORTEX_WS_PATH, VortexServerEndpoint
from vortex.transport.tls import ClientTls, ServerTls, TlsConfigError

__all__ = [
    "CLOSE_DEVICE_LIMIT",
    "CLOSE_LOGIN_REQUIRED",
    "CLOSE_SESSION_ENDED",
    "VORTEX_WS_PATH",
    "Backoff",
    "ClientTls",
    "DeviceLinkQuota",
    "DeviceQuotaLimits",
    "PeerIdentity",
    "ReassemblyBudget",
    "ServerTls",
    "TlsConfigError",
    "TransportLimits",
    "VortexClient",
    "VortexConnection",
    "VortexConnectionCore",
    "VortexLinkClosedError",
    "VortexServerEndpoint",
]
