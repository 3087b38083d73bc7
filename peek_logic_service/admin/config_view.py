"""The Config page's data: every key of a service's config, secrets masked at the source."""

from __future__ import annotations

from peek_logic_service.admin.tuples import AdminConfigEntryTuple, AdminConfigTuple
from peek_platform.config import ServiceConfig, keysForService


def configTuple(config: ServiceConfig) -> AdminConfigTuple:
    """``config`` as the admin site shows it: a secret key carries only whether it is set."""
    entries = []
    for key in keysForService(config.spec):
        value = config[key.path]
        entry = AdminConfigEntryTuple(
            key=key.path,
            type=getattr(key.type, "__name__", str(key.type)),
            value=None if key.secret else value,
            description=key.description,
            secret=key.secret,
            isSet=bool(value) if key.secret else True,
        )
        entries.append(entry)
    return AdminConfigTuple(
        serviceKey=config.spec.key, configPath=str(config.path), entries=entries
    )
