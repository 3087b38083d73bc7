"""Which field and office devices are online: the device status API on the logic service."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable

#: ``listener(deviceId, online)``: a device came online (True) or went offline (False).
DeviceStatusListener = Callable[[str, bool], None]


class DeviceStatusApiABC(metaclass=ABCMeta):
    """The online status of enrolled devices (browsers of the field and office sites).

    A device is *online* while one of its login sessions holds at least one open vortex
    link to its site, as the field and office services report to logic every few seconds.
    Device ids are the ids the admin site's Devices page shows, and the ``deviceId`` of a
    request's identity. Reach it as ``self.platform.deviceStatusApi`` in a logic entry hook.
    """

    @abstractmethod
    def isDeviceOnline(self, deviceId: str) -> bool:
        """True when device ``deviceId`` is online now."""

    @abstractmethod
    def onlineDeviceIds(self) -> set[str]:
        """The ids of every device online now (a new set; change it freely)."""

    @abstractmethod
    def addDeviceStatusListener(self, listener: DeviceStatusListener) -> Callable[[], None]:
        """Call ``listener(deviceId, online)`` on the reactor thread whenever a device comes
        online or goes offline; returns a function that removes the listener. The platform
        removes a plugin's listeners when the plugin unloads."""
