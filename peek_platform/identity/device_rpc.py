"""The device calls field and office make to logic: enrol a login's device, and re-check
the devices of live sessions.

Logic owns the device records (``devices.DeviceStore``); a field or office site forwards the
token from the browser's device cookie with a good login and gets back the device's id and
state, a new token for a new device, or that the device is revoked. Only field and office
may call these RPCs, like the login RPC. The answers are plain documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_platform.identity.devices import (
    DeviceAdmission,
    DeviceGate,
    DeviceRevoked,
    DeviceState,
    checkPolicy,
)
from peek_platform.identity.login_rpc import siteRpc
from peek_platform.identity.principal import DirectoryUnavailable, Principal
from vortex.VortexFactory import VortexFactory

#: ``admit(token, site=, userId=, userName=, description=, policy=)``: blocking, on logic.
BlockingAdmit = Callable[..., DeviceAdmission]
#: ``states(deviceIds)``: blocking, on logic.
BlockingStates = Callable[[list[str]], Mapping[str, DeviceState]]


def _admitDevice(
    admit: BlockingAdmit,
    token: str | None,
    site: str,
    userId: str,
    userName: str,
    description: str,
    policy: str,
) -> dict[str, Any]:
    """On logic: the device of one login as a document (``ok`` or ``revoked``)."""
    try:
        admission = admit(
            str(token) if token else None,
            site=str(site),
            userId=str(userId),
            userName=str(userName),
            description=str(description),
            policy=checkPolicy(str(policy)),
        )
    except DeviceRevoked as e:
        return {"outcome": "revoked", "message": str(e)}
    return {
        "outcome": "ok",
        "deviceId": admission.deviceId,
        "state": admission.state.value,
        "token": admission.newToken,
    }


def admitDeviceRpc() -> Any:
    """A fresh handle on logic's "enrol or recognise this login's device" RPC."""
    return siteRpc(_admitDevice)


def _deviceStates(states: BlockingStates, deviceIds: list) -> dict[str, str]:
    """On logic: the state of each of ``deviceIds`` that exists."""
    known = states([str(deviceId) for deviceId in deviceIds])
    return {deviceId: DeviceState(state).value for deviceId, state in known.items()}


def deviceStatesRpc() -> Any:
    """A fresh handle on logic's "what state are these devices in" RPC."""
    return siteRpc(_deviceStates)


def deviceGateThroughLogic(
    admitRpc: Any,
    statesRpc: Any,
    vortexFactory: Callable[[], VortexFactory],
    *,
    site: str,
    policy: str,
) -> DeviceGate:
    """The device gate of ``site`` (enrolling under ``policy``), asking logic.

    A logic that cannot be reached fails an admission with ``DirectoryUnavailable`` (the
    login page says the login could not be checked) and a state query with its error (the
    sessions are kept until logic answers).
    """
    checkPolicy(policy)

    def admit(
        token: str | None, principal: Principal, description: str
    ) -> Deferred[DeviceAdmission]:
        d: Deferred[dict] = admitRpc.using(vortexFactory())(
            token, site, principal.userId, principal.userName, description, policy
        )

        def outcome(document: dict) -> DeviceAdmission:
            if document.get("outcome") == "revoked":
                raise DeviceRevoked(str(document.get("message") or "this device is revoked"))
            return DeviceAdmission(
                deviceId=str(document["deviceId"]),
                state=DeviceState(document["state"]),
                newToken=document.get("token") or None,
            )

        def unreachable(failure: Failure) -> DeviceAdmission:
            if failure.check(DeviceRevoked):
                failure.raiseException()
            raise DirectoryUnavailable(
                "the logic service cannot be reached to check this device; try again shortly"
            )

        return d.addCallback(outcome).addErrback(unreachable)

    def states(deviceIds: list[str]) -> Deferred[dict[str, DeviceState]]:
        d: Deferred[dict] = statesRpc.using(vortexFactory())(deviceIds)
        return d.addCallback(
            lambda known: {str(i): DeviceState(state) for i, state in known.items()}
        )

    return DeviceGate(admit=admit, states=states)
