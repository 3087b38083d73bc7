"""The Config page's data: every key of a service's config, secrets masked at the source."""

from __future__ import annotations

from typing import Any

from peek_logic_service.admin.tuples import AdminConfigEntryTuple, AdminConfigTuple
from peek_platform.config import ServiceConfig, keysForService
from peek_platform.identity.ldap_directory import LDAP_DIRECTORIES_KEY, SECRET_FIELDS

#: Secret fields inside the objects of a list-of-objects key, whose other fields are shown.
SECRET_ITEM_FIELDS: dict[str, tuple[str, ...]] = {LDAP_DIRECTORIES_KEY: SECRET_FIELDS}
#: What a set secret field inside a shown value reads as.
MASKED = "•••••• (hidden)"


def configTuple(config: ServiceConfig) -> AdminConfigTuple:
    """``config`` as the admin site shows it: a secret key carries only whether it is set."""
    entries = []
    for key in keysForService(config.spec):
        value = config[key.path]
        entry = AdminConfigEntryTuple(
            key=key.path,
            type=getattr(key.type, "__name__", str(key.type)),
            value=None if key.secret else _maskItemFields(key.path, value),
            description=key.description,
            secret=key.secret,
            isSet=bool(value) if key.secret else True,
        )
        entries.append(entry)
    return AdminConfigTuple(
        serviceKey=config.spec.key, configPath=str(config.path), entries=entries
    )


def _maskItemFields(path: str, value: Any) -> Any:
    """``value`` with each secret field of its objects replaced by ``MASKED`` when set."""
    fields = SECRET_ITEM_FIELDS.get(path)
    if not fields or not isinstance(value, list):
        return value
    return [
        {name: MASKED if name in fields and field != "" else field for name, field in item.items()}
        if isinstance(item, dict)
        else item
        for item in value
    ]
