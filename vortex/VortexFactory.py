"""VortexFactory: a process's vortex links, tied to its PayloadIO, and sending to named peers.

The transport (``vortex.transport``) moves opaque messages between authenticated peers;
this module turns those messages into :class:`~vortex.PayloadEnvelope.PayloadEnvelope`
dispatches and routes outgoing messages by destination vortex name or uuid.

Identity rule: endpoints see a service peer's *authenticated* vortex name. A device
(browser) link is anonymous, so its announced name is reported with the ``device:``
prefix; ``acceptOnlyFromVortex`` naming a service can therefore never match a device.
Every message from a device link carries its link's request identity (the login behind
the link, or ``ANONYMOUS``) in place of any identity the device wrote; a message from a
service link keeps the identity its sender (a proxy) attached (``vortex.RequestIdentity``).
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twisted.internet import defer
from twisted.web.resource import Resource

from vortex.PayloadEnvelope import PayloadEnvelope
from vortex.PayloadIO import PayloadIO
from vortex.RequestIdentity import ANONYMOUS, RequestIdentity
from vortex.SerialiseUtil import VortexDecodeError
from vortex.stats import DEVICE_PEER, LinkTraffic, VortexStats
from vortex.storage.tuple_store_sqlite import TupleStoreSqlite
from vortex.transport import (
    CLOSE_DEVICE_LIMIT,
    VORTEX_WS_PATH,
    Backoff,
    ClientTls,
    DeviceLinkQuota,
    DeviceQuotaLimits,
    ReassemblyBudget,
    TransportLimits,
    VortexClient,
    VortexConnection,
    VortexLinkClosedError,
    VortexServerEndpoint,
)
from vortex.transport.connection_core import DeviceAdmission
from vortex.transport.limits import DEFAULT_LIMITS
from vortex.transport.reactor import IVortexReactor, globalReactor

logger = logging.getLogger(__name__)

#: Prefix of the vortex name endpoints see for anonymous device links.
DEVICE_PREFIX = "device:"


class NoVortexException(Exception):
    """No connected vortex matches the destination of a message."""


@dataclass
class RemoteVortexInfo:
    """A peer linked to this process right now."""

    name: str
    uuid: str
    isDevice: bool
    peerAddress: str
    since: datetime
    connection: VortexConnection = field(repr=False)

    @property
    def identity(self) -> str:
        """The vortex name endpoints see for this peer (``device:`` prefix for devices)."""
        return DEVICE_PREFIX + self.name if self.isDevice else self.name

    @property
    def statsPeer(self) -> str:
        """The peer this link is counted under: the service's name, or every device as one."""
        return DEVICE_PEER if self.isDevice else self.name


OnlineListener = Callable[[RemoteVortexInfo], None]
OfflineListener = Callable[[RemoteVortexInfo, str], None]
#: Gives the request identity of the device link at a peer address (None: anonymous).
DeviceIdentityResolver = Callable[[str], RequestIdentity | None]
#: Per link: peer uuid, the vortex name endpoints see, sendResponse, and for a device link
#: the function giving its current identity.
_LinkDispatch = tuple[str, str, Callable[..., Any], Callable[[], RequestIdentity] | None]


def _anonymous() -> RequestIdentity:
    return ANONYMOUS


class VortexFactory:
    """The vortex servers and clients of one process, feeding one PayloadIO.

    Handler classes that plugin code constructs without naming a factory (RPC,
    observables, actions) use :meth:`default`; a service makes its factory the
    default with :meth:`makeDefault`, and :meth:`shutdown` undoes that.
    """

    _default: VortexFactory | None = None

    def __init__(
        self,
        vortexName: str,
        vortexUuid: str | None = None,
        *,
        payloadIO: PayloadIO | None = None,
        reactor: IVortexReactor | None = None,
    ) -> None:
        self.vortexName = vortexName
        self.vortexUuid = vortexUuid or uuidlib.uuid4().hex
        self.payloadIO = payloadIO if payloadIO is not None else PayloadIO()
        self.reactor = reactor if reactor is not None else globalReactor()
        self._servers: list[VortexServerEndpoint] = []
        self._clients: list[VortexClient] = []
        self._remotes: dict[VortexConnection, RemoteVortexInfo] = {}
        # Indexes of _remotes, so that routing to a service or a uuid and each link's up and
        # down cost O(1) however many device links are open: the links of each uuid, oldest
        # first, and the service links of each vortex name.
        self._byUuid: dict[str, list[RemoteVortexInfo]] = {}
        self._services: dict[str, dict[VortexConnection, RemoteVortexInfo]] = {}
        # Per link, what each received message is dispatched with (built once per link).
        self._dispatch: dict[VortexConnection, _LinkDispatch] = {}
        # Per device link of a server with a device quota: its counts (services have none).
        self._quotas: dict[VortexConnection, DeviceLinkQuota] = {}
        self._onlineListeners: list[OnlineListener] = []
        self._offlineListeners: list[OfflineListener] = []
        #: Plain counters of this factory's links, RPCs, actions and observables.
        self.stats = VortexStats()
        #: The disk store observable proxies keep their caches in (set by field and office;
        #: None keeps them in memory only).
        self.tupleStore: TupleStoreSqlite | None = None
        #: Bounds the chunked messages all links of this process receive at once.
        self.reassemblyBudget = ReassemblyBudget()

    # ---- the process default --------------------------------------------------------

    @classmethod
    def default(cls) -> VortexFactory:
        """The factory of this process; a clear error if the service has not created one."""
        if cls._default is None:
            raise NoVortexException(
                "no vortex in this process: a Peek service creates it before plugins load; "
                "scripts and tests create a VortexFactory and call makeDefault()"
            )
        return cls._default

    def makeDefault(self) -> VortexFactory:
        """Make this the factory that handlers use when not given one; returns self."""
        VortexFactory._default = self
        return self

    # ---- creating links ---------------------------------------------------------------

    def listen(
        self,
        rootResource: Resource,
        *,
        secret: bytes | None,
        allowDevices: bool = False,
        limits: TransportLimits = DEFAULT_LIMITS,
        permessageDeflate: bool | None = None,
        deviceIdentity: DeviceIdentityResolver | None = None,
        deviceQuota: DeviceQuotaLimits | None = None,
        admitDevice: DeviceAdmission | None = None,
    ) -> VortexServerEndpoint:
        """Accept vortex links at ``/vortexws`` under ``rootResource``.

        ``deviceIdentity(peerAddress)`` gives a device link's request identity, asked for
        each message so that a login's changes (and its end) apply at once; without it
        every device is anonymous. With ``deviceQuota`` each device link is held to those
        per-link limits: the message that breaks one is dropped and the link closed with
        ``CLOSE_DEVICE_LIMIT``. Service links are never counted. ``admitDevice(peerAddress)``
        may refuse a device before its link opens (``CLOSE_LOGIN_REQUIRED``, with its reason).
        ``permessageDeflate`` (default: ``allowDevices``) accepts compression offers.
        """
        resolver = deviceIdentity

        def linkUp(connection: VortexConnection) -> None:
            if deviceQuota is not None and connection.isDevice:
                self._quotas[connection] = DeviceLinkQuota(deviceQuota, self.reactor)
            self._linkUp(connection, resolver)

        server = VortexServerEndpoint(
            self.vortexName,
            self.vortexUuid,
            secret=secret,
            allowDevices=allowDevices,
            admitDevice=admitDevice,
            limits=limits,
            reactor=self.reactor,
            permessageDeflate=permessageDeflate,
            reassemblyBudget=self.reassemblyBudget,
            onMessage=self._received,
            onConnect=linkUp,
            onDisconnect=self._linkDown,
        )
        rootResource.putChild(VORTEX_WS_PATH, server.resource)
        self._servers.append(server)
        return server

    def connect(
        self,
        url: str,
        *,
        secret: bytes | None,
        tls: ClientTls | None = None,
        limits: TransportLimits = DEFAULT_LIMITS,
        backoff: Backoff | None = None,
        permessageDeflate: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> VortexClient:
        """Link to the vortex server at ``url`` and keep the link up (reconnecting).

        ``headers`` go with every websocket upgrade request, e.g. a device's login
        ``Cookie``: each reconnect presents the same session. ``permessageDeflate``
        (default: only without ``secret``, as a device) offers compression."""
        client = VortexClient(
            url,
            self.vortexName,
            self.vortexUuid,
            secret=secret,
            tls=tls,
            limits=limits,
            reactor=self.reactor,
            backoff=backoff,
            permessageDeflate=permessageDeflate,
            headers=headers,
            reassemblyBudget=self.reassemblyBudget,
            onMessage=self._received,
            onConnect=self._linkUp,
            onDisconnect=self._linkDown,
        )
        self._clients.append(client)
        client.start()
        return client

    def shutdown(self) -> defer.Deferred:
        """Stop every client, close every server link, and stop being the default."""
        if VortexFactory._default is self:
            VortexFactory._default = None
        for server in self._servers:
            server.closeAll("vortex shutting down")
        stopping = [client.stop() for client in self._clients]
        self._clients.clear()
        return defer.gatherResults(stopping, consumeErrors=True).addCallback(lambda _: None)

    # ---- peers --------------------------------------------------------------------------

    def remoteVortexes(self) -> list[RemoteVortexInfo]:
        """Every peer linked right now, oldest link first."""
        return list(self._remotes.values())

    def remoteVortexByUuid(self, vortexUuid: str) -> RemoteVortexInfo | None:
        """The linked peer with this uuid (its newest link), or None."""
        links = self._byUuid.get(vortexUuid)
        return links[-1] if links else None

    def isVortexNameLocal(self, vortexName: str) -> bool:
        """True when ``vortexName`` is this process's own vortex."""
        return vortexName == self.vortexName

    def isVortexNameConnected(self, vortexName: str) -> bool:
        """True when a service peer with this authenticated name is linked."""
        return bool(self._services.get(vortexName))

    def linkTraffic(self) -> dict[str, LinkTraffic]:
        """Messages and bytes moved per peer (``RemoteVortexInfo.statsPeer``) since this
        factory was made: closed links' totals plus the open links' counts so far."""
        totals: dict[str, LinkTraffic] = {}
        for peer, closed in self.stats.closedLinkTraffic.items():
            totals[peer] = LinkTraffic()
            totals[peer].add(closed)
        for info in self._remotes.values():
            total = totals.get(info.statsPeer)
            if total is None:
                total = totals[info.statsPeer] = LinkTraffic()
            total.add(info.connection.traffic())
        return totals

    def addOnlineListener(self, listener: OnlineListener) -> Callable[[], None]:
        """Call ``listener(info)`` for each new link; returns a function that unsubscribes."""
        self._onlineListeners.append(listener)
        return lambda: self._onlineListeners.remove(listener)

    def addOfflineListener(self, listener: OfflineListener) -> Callable[[], None]:
        """Call ``listener(info, reason)`` when a link drops; returns an unsubscribe function."""
        self._offlineListeners.append(listener)
        return lambda: self._offlineListeners.remove(listener)

    # ---- sending ------------------------------------------------------------------------

    def sendVortexMsg(
        self,
        vortexMsgs: bytes | Sequence[bytes],
        destVortexName: str | None = None,
        destVortexUuid: str | None = None,
        priority: bool = False,
    ) -> defer.Deferred:
        """Send to the peer with ``destVortexUuid``, or every peer named ``destVortexName``.

        With neither, send to every linked peer. Sending to this process's own name
        dispatches locally. Fails with :class:`NoVortexException` when nothing matches.
        With ``priority`` the messages go ahead of others waiting behind a bulk transfer
        on the link (RPC and action requests; see ``VortexConnection.sendPriority``).
        """
        if destVortexUuid is None and destVortexName == self.vortexName:
            return self.sendVortexMsgLocally(vortexMsgs)
        try:
            self.sendVortexMsgNow(vortexMsgs, destVortexName, destVortexUuid, priority)
        except NoVortexException as e:
            return defer.fail(e)
        return defer.succeed(None)

    def sendVortexMsgNow(
        self,
        vortexMsgs: bytes | Sequence[bytes],
        destVortexName: str | None = None,
        destVortexUuid: str | None = None,
        priority: bool = False,
    ) -> None:
        """:meth:`sendVortexMsg` to linked peers only (never locally), without a Deferred.

        Raises :class:`NoVortexException` when no linked peer matches or a link has closed.
        """
        if isinstance(vortexMsgs, bytes):
            single: bytes | None = vortexMsgs
            msgs: Sequence[bytes] = ()
        else:
            single, msgs = None, list(vortexMsgs)
        targets = self._targets(destVortexName, destVortexUuid)
        if not targets:
            raise NoVortexException(
                f"vortex {self.vortexName}: no linked vortex named {destVortexName!r}"
                if destVortexUuid is None
                else f"vortex {self.vortexName}: no linked vortex with uuid {destVortexUuid!r}"
            )
        try:
            for connection in targets:
                send = connection.sendPriority if priority else connection.send
                if single is not None:
                    send(single)
                else:
                    for msg in msgs:
                        send(msg)
        except VortexLinkClosedError as e:
            raise NoVortexException(str(e)) from None

    def sendVortexMsgLocally(
        self,
        vortexMsgs: bytes | Sequence[bytes],
        vortexUuid: str | None = None,
        vortexName: str | None = None,
    ) -> defer.Deferred:
        """Dispatch messages to this process's own endpoints, as if received from a peer."""
        msgs = [vortexMsgs] if isinstance(vortexMsgs, bytes) else list(vortexMsgs)
        name = self.vortexName if vortexName is None else vortexName
        peerUuid = self.vortexUuid if vortexUuid is None else vortexUuid
        results = [
            self.payloadIO.processVortexMsg(
                msg,
                vortexUuid=peerUuid,
                vortexName=name,
                sendResponse=self.sendVortexMsgLocally,
            )
            for msg in msgs
        ]
        return defer.gatherResults(results).addCallback(lambda _: None)

    def _targets(
        self, destVortexName: str | None, destVortexUuid: str | None
    ) -> list[VortexConnection]:
        """Connections to send to: one per peer uuid, its newest link (see ``_linkDown``)."""
        if destVortexUuid is not None:
            links = self._byUuid.get(destVortexUuid)
            return [links[-1].connection] if links else []
        if destVortexName is None:
            remotes = self._remotes.values()
        else:
            remotes = self._services.get(destVortexName, {}).values()
        newest: dict[str, VortexConnection] = {}
        for info in remotes:
            newest[info.uuid] = info.connection
        return list(newest.values())

    # ---- transport callbacks --------------------------------------------------------------

    def _linkUp(
        self, connection: VortexConnection, resolver: DeviceIdentityResolver | None = None
    ) -> None:
        info = RemoteVortexInfo(
            name=connection.remoteVortexName,
            uuid=connection.remoteVortexUuid,
            isDevice=connection.isDevice,
            peerAddress=connection.peerAddress,
            since=datetime.now(UTC),
            connection=connection,
        )
        self._remotes[connection] = info
        self._byUuid.setdefault(info.uuid, []).append(info)
        if not info.isDevice:
            self._services.setdefault(info.name, {})[connection] = info
        self._dispatch[connection] = (
            info.uuid,
            info.identity,
            _responder(connection),
            _deviceIdentity(connection, resolver) if connection.isDevice else None,
        )
        for listener in list(self._onlineListeners):
            listener(info)

    def _linkDown(self, connection: VortexConnection, reason: str) -> None:
        self._dispatch.pop(connection, None)
        self._quotas.pop(connection, None)
        info = self._remotes.pop(connection, None)
        if info is None:
            return
        sameUuid = self._byUuid[info.uuid]
        sameUuid.remove(info)
        if not sameUuid:
            del self._byUuid[info.uuid]
        if not info.isDevice:
            named = self._services[info.name]
            del named[connection]
            if not named:
                del self._services[info.name]
        self.stats.linkClosed(info.statsPeer, connection.traffic())
        if sameUuid:
            # The peer reconnected before its old link was seen dead: it is still online,
            # and listeners dropping its state by uuid would wipe the new link's state.
            logger.info(
                "vortex %s: old link of %s (%s) closed (%s); its newer link stays up",
                self.vortexName,
                info.identity,
                info.peerAddress,
                reason,
            )
            return
        for listener in list(self._offlineListeners):
            listener(info, reason)

    def _received(self, connection: VortexConnection, data: bytes) -> None:
        """Hot path: parse the envelope header and dispatch with the link's cached identity."""
        dispatch = self._dispatch.get(connection)
        if dispatch is None:
            return
        peerUuid, identity, sendResponse, deviceIdentity = dispatch
        try:
            envelope = PayloadEnvelope.fromVortexMsg(data)
        except VortexDecodeError as e:
            logger.error(
                "vortex %s: dropped a malformed message from %s (%s): %s",
                self.vortexName,
                identity,
                connection.peerAddress,
                e,
            )
            return
        if deviceIdentity is not None:
            quota = self._quotas.get(connection)
            if quota is not None:
                refusal = quota.admit(envelope.filt, len(data))
                if refusal is not None:
                    self.stats.deviceLinkClosedForLimit(quota.refusedLimit or "unknown")
                    logger.warning(
                        "vortex %s: closing device link %s (%s): %s",
                        self.vortexName,
                        identity,
                        connection.peerAddress,
                        refusal,
                    )
                    connection.close(refusal, CLOSE_DEVICE_LIMIT)
                    return
            envelope.identity = deviceIdentity()
        self.payloadIO.dispatch(envelope, peerUuid, identity, sendResponse)


def _deviceIdentity(
    connection: VortexConnection, resolver: DeviceIdentityResolver | None
) -> Callable[[], RequestIdentity]:
    """The function giving a device link's identity now (anonymous when nothing says)."""
    if resolver is None:
        return _anonymous
    address = connection.peerAddress

    def current() -> RequestIdentity:
        return resolver(address) or ANONYMOUS

    return current


#: The attribute of a link's ``sendResponse`` holding its priority variant.
_PRIORITY = "priority"


def prioritySender(
    sendResponse: Callable[[bytes], defer.Deferred],
) -> Callable[[bytes], defer.Deferred]:
    """The variant of an endpoint's ``sendResponse`` that answers ahead of messages waiting
    behind a bulk transfer on the link (for RPC and action replies); ``sendResponse`` itself
    when it has none (a local dispatch, or a test's own function)."""
    return getattr(sendResponse, _PRIORITY, sendResponse)


def _sender(send: Callable[[bytes], None]) -> Callable[..., defer.Deferred]:
    def sendResponse(vortexMsgs: bytes | Sequence[bytes]) -> defer.Deferred:
        try:
            if isinstance(vortexMsgs, bytes):
                send(vortexMsgs)
            else:
                for msg in vortexMsgs:
                    send(msg)
        except VortexLinkClosedError as e:
            return defer.fail(NoVortexException(str(e)))
        return defer.succeed(None)

    return sendResponse


def _responder(connection: VortexConnection) -> Callable[..., defer.Deferred]:
    """The ``sendResponse`` handed to endpoints for messages that arrived on ``connection``,
    carrying its priority variant for :func:`prioritySender`."""
    sendResponse = _sender(connection.send)
    setattr(sendResponse, _PRIORITY, _sender(connection.sendPriority))
    return sendResponse
