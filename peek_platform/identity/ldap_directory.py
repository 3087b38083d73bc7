"""LDAP directories: check a user's password against an LDAP server and map groups to roles.

Each directory is one object of logic's ``ldap.directories`` config key, validated by
:func:`directoriesFromConfig` into an :class:`LdapDirectorySettings`. An
:class:`LdapDirectory` answers one login at a time, **blocking** (run it off the reactor,
as the :class:`~peek_platform.identity.authenticator.Authenticator` is):

* ``mode: "bind"`` binds as ``userDnTemplate`` with ``{user}`` replaced by the user name
  (escaped as a DN value);
* ``mode: "search"`` binds as ``bindDn``/``bindPassword`` (anonymously when ``bindDn`` is
  empty), searches ``userSearchBase`` with ``userSearchFilter`` (``{user}`` replaced by the
  user name, escaped as a filter value), then binds as the one entry found.

The user's groups are the entries under ``groupSearchBase`` whose ``groupMemberAttribute``
holds the user's DN (``member``, ``uniqueMember``) or, for ``memberUid``, the user name.
``groupRoles`` maps a group's CN or full DN to role names. The principal returned carries
those roles and **no permissions**: the caller resolves what the roles grant
(``Authenticator`` does, with ``LocalUsers.permissionsOfRoles``).

A login gives up once ``timeoutSeconds`` have passed: connecting is bounded by it, and every
reply after that gets only what is left of it. Only an ``ldaps://`` server that is slow to
accept and then stalls the TLS handshake (about twice the time at worst), a host name with
several addresses (each tried in turn) and the resolver's name lookup can take longer.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import ssl
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from peek_platform.config.errors import ConfigError
from peek_platform.config.keys import describeValue
from peek_platform.config.service_config import ServiceConfig
from peek_platform.identity.authenticator import REFUSED
from peek_platform.identity.principal import (
    SITES,
    DirectoryUnavailable,
    LoginRefused,
    Principal,
)

with warnings.catch_warnings():
    # ldap3 2.9 imports names pyasn1 0.6.1+ deprecates (tagMap, typeMap): harmless, but an
    # error where warnings are errors (the test suite). Only these, only while importing.
    warnings.filterwarnings(
        "ignore",
        r"\w+ is deprecated\. Please use \w+ instead\.",
        DeprecationWarning,
        r"ldap3\.",
    )
    from ldap3 import (  # type: ignore[import-untyped]
        NONE,
        SIMPLE,
        SUBTREE,
        SYNC,
        Connection,
        Server,
        Tls,
    )
    from ldap3.core.exceptions import (  # type: ignore[import-untyped]
        LDAPCommunicationError,
        LDAPException,
    )
    from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]
    from ldap3.utils.dn import escape_rdn, parse_dn  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

#: The config key holding the directories (a list of objects).
LDAP_DIRECTORIES_KEY = "ldap.directories"
#: Fields of a directory object that are secrets: masked in reprs and the admin config view.
SECRET_FIELDS: tuple[str, ...] = ("bindPassword",)
#: What a set secret field shows instead of its value.
MASK = "********"

#: The two ways of finding the user's entry.
MODES: tuple[str, ...] = ("bind", "search")
#: The placeholder replaced by the (escaped) user name in DN templates and filters.
USER_PLACEHOLDER = "{user}"
#: The membership attribute whose values are user names rather than DNs (posixGroup).
NAME_MEMBER_ATTRIBUTES: frozenset[str] = frozenset({"memberuid"})
#: The longest ``timeoutSeconds`` accepted: a login must not hang a user for minutes.
MAX_TIMEOUT_SECONDS = 300.0

#: Bind results that mean "these credentials are not good" rather than "the server is sick":
#: noSuchObject, invalidDNSyntax, inappropriateAuthentication, invalidCredentials,
#: insufficientAccessRights (a disabled account on some servers), unwillingToPerform (an
#: unauthenticated bind, a locked account).
_REFUSING_BIND_RESULTS: frozenset[int] = frozenset({32, 34, 48, 49, 50, 53})

_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ATTRIBUTE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9-]*")

#: Every field a directory object may have, with what it holds (for error messages).
_FIELDS: dict[str, str] = {
    "name": "unique name",
    "url": "ldap:// or ldaps:// URL",
    "sites": "sites users log in on",
    "mode": "bind or search",
    "userDnTemplate": "bind mode: user DN with {user}",
    "bindDn": "search mode: DN of the search account",
    "bindPassword": "search mode: password of the search account",
    "userSearchBase": "search mode: where users are",
    "userSearchFilter": "search mode: filter with {user}",
    "groupSearchBase": "where groups are",
    "groupMemberAttribute": "group attribute naming members",
    "groupRoles": "group CN or DN to role names",
    "timeoutSeconds": "seconds a login may wait",
    "tlsCaPath": "CA certificate for ldaps://",
}
_BIND_ONLY = ("userDnTemplate",)
_SEARCH_ONLY = ("bindDn", "bindPassword", "userSearchBase", "userSearchFilter")


@dataclass(frozen=True)
class LdapDirectorySettings:
    """One validated ``ldap.directories`` entry; its ``repr`` masks ``bindPassword``."""

    #: Unique name; part of the user ids, ``ldap:<name>:<user>``.
    name: str
    #: ``ldap://host[:port]`` or ``ldaps://host[:port]``.
    url: str
    #: The sites (``admin``, ``field``, ``office``) whose logins may use this directory.
    sites: frozenset[str]
    #: ``bind`` or ``search``.
    mode: str
    #: Bind mode: the user's DN, ``{user}`` standing for the escaped user name.
    userDnTemplate: str = ""
    #: Search mode: the search account's DN; empty means an anonymous search.
    bindDn: str = ""
    #: Search mode: the search account's password (a secret).
    bindPassword: str = field(default="", repr=False)
    #: Search mode: the base DN searched (whole subtree) for the user.
    userSearchBase: str = ""
    #: Search mode: the filter finding the user, ``{user}`` standing for the escaped name.
    userSearchFilter: str = ""
    #: Base DN searched for the user's groups; empty means no groups, so no roles.
    groupSearchBase: str = ""
    #: Group attribute listing members: DNs (``member``), or user names (``memberUid``).
    groupMemberAttribute: str = "member"
    #: Group CN (any case) or normalised group DN to the role names the group grants.
    groupRoles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Longest time one login may wait for the server, in seconds.
    timeoutSeconds: float = 5.0
    #: PEM CA certificate(s) trusted for ``ldaps://``; empty means the system trust store.
    tlsCaPath: str = ""

    def __repr__(self) -> str:
        """Every field, with ``bindPassword`` masked (``''`` when none is set)."""
        parts = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in SECRET_FIELDS:
                value = MASK if value else ""
            parts.append(f"{name}={value!r}")
        return f"LdapDirectorySettings({', '.join(parts)})"

    @property
    def useTls(self) -> bool:
        """True for an ``ldaps://`` URL."""
        return self.url.lower().startswith("ldaps://")


class _DirectoryFailed(Exception):
    """Internal: the directory could not answer; the message says why (no secrets)."""


class _Deadline:
    """One login's time budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; ``_DirectoryFailed`` when none are."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise _DirectoryFailed(f"no answer within {self.seconds:g} s")
        return left


class _VerifyingTls(Tls):
    """``ldaps://`` with Python's own certificate chain and host name checks.

    ldap3 turns the context's host name check off and checks with ``ssl.match_hostname``
    instead, deprecated since Python 3.7 (a warning at every login) and removed in 3.12.
    """

    def __init__(self, caFile: str | None, hostName: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=caFile)
        #: Verifies the chain against ``caFile``, else the system's CAs, and the host name.
        self._context = ssl.create_default_context(cafile=caFile)
        self._hostName = hostName

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        """Replace the connection's socket by a TLS one, verified during the handshake."""
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_hostname=self._hostName,
            do_handshake_on_connect=do_handshake,
        )


class LdapDirectory:
    """Checks passwords against one LDAP directory; blocking, one login per call."""

    def __init__(self, settings: LdapDirectorySettings) -> None:
        self.settings = settings
        #: The directory's name and sites, as the ``Authenticator`` reads them.
        self.name = settings.name
        self.sites = settings.sites

    def __repr__(self) -> str:
        return f"LdapDirectory({self.settings!r})"

    def authenticate(self, userName: str, password: str) -> Principal:
        """The principal of ``userName`` if ``password`` is right: roles, no permissions.

        ``userId`` is ``ldap:<directory name>:<user name in lower case>`` (directories
        match names without regard to case, so the id does not depend on how it was
        typed). ``roles`` are those ``groupRoles`` gives the user's groups, possibly none;
        ``permissions`` is empty, the caller resolves what the roles grant.

        Raises ``LoginRefused("wrong user name or password")`` for a wrong password, an
        unknown user or an empty user name or password (an empty password is refused here,
        never sent: many servers take a DN with no password as an anonymous bind, which
        "succeeds"). Raises ``DirectoryUnavailable`` naming the directory and its URL when
        the server cannot be reached or does not answer within ``timeoutSeconds``, or
        refuses the search account.
        """
        if not userName or not password:
            raise LoginRefused(REFUSED)
        settings = self.settings
        deadline = _Deadline(settings.timeoutSeconds)
        try:
            with self._connection(deadline) as conn:
                if settings.mode == "bind":
                    userDn = settings.userDnTemplate.replace(USER_PLACEHOLDER, escape_rdn(userName))
                    self._bindUser(conn, deadline, userDn, password)
                    groups = self._groups(conn, deadline, userDn, userName)
                else:
                    self._bindSearchAccount(conn, deadline)
                    userDn = self._findUser(conn, deadline, userName)
                    groups = self._groups(conn, deadline, userDn, userName)
                    self._bindUser(conn, deadline, userDn, password)
        except _DirectoryFailed as e:
            raise DirectoryUnavailable(
                f"LDAP directory {settings.name} at {settings.url} is unreachable: {e}"
            ) from None
        roles = frozenset(role for group in groups for role in self._rolesOf(group))
        return Principal(
            userId=f"ldap:{settings.name}:{userName.lower()}",
            userName=userName,
            roles=roles,
            permissions=frozenset(),
        )

    @contextmanager
    def _connection(self, deadline: _Deadline) -> Iterator[Any]:
        """An open, not yet bound connection; ldap3 errors become ``_DirectoryFailed``."""
        conn = None
        try:
            conn = self._openConnection(deadline)
            yield conn
        except LDAPCommunicationError as e:
            doing = "connecting" if conn is None else "waiting for an answer"
            raise _DirectoryFailed(_reason(e, doing, deadline)) from None
        except LDAPException as e:
            raise _DirectoryFailed(f"{type(e).__name__}: {_plainMessage(e)}") from None
        finally:
            if conn is not None:
                try:
                    conn.unbind()
                except (LDAPException, OSError):
                    pass
                _closeSocket(conn)

    def _openConnection(self, deadline: _Deadline) -> Any:
        """Connect (and for ldaps:// shake hands) within the time left."""
        settings = self.settings
        parts = urlsplit(settings.url)
        tls = None
        if settings.useTls:
            tls = _VerifyingTls(settings.tlsCaPath or None, str(parts.hostname))
        # A new Server each time: ldap3 remembers addresses that failed and would refuse
        # to try them again.
        server = Server(
            parts.hostname,
            port=parts.port,
            use_ssl=settings.useTls,
            tls=tls,
            get_info=NONE,
            connect_timeout=deadline.remaining(),
        )
        conn = Connection(
            server,
            client_strategy=SYNC,
            raise_exceptions=False,
            read_only=True,
            auto_referrals=False,
            # ldap3 also packs this into SO_RCVTIMEO, which takes whole seconds; it bounds
            # the TLS handshake, and each step after it narrows the socket's timeout to
            # the time left.
            receive_timeout=max(1, math.ceil(deadline.remaining())),
        )
        try:
            conn.open()
        except BaseException:
            _closeSocket(conn)  # ldap3 leaves the socket of a failed connect open
            raise
        return conn

    @staticmethod
    def _narrow(conn: Any, deadline: _Deadline) -> None:
        """Let the next reply take only the time left of the login."""
        conn.socket.settimeout(deadline.remaining())

    def _bindUser(self, conn: Any, deadline: _Deadline, userDn: str, password: str) -> None:
        """Bind as the user; ``LoginRefused`` when the directory says no."""
        self._narrow(conn, deadline)
        if _simpleBind(conn, userDn, password):
            return
        code = conn.result.get("result")
        if code in _REFUSING_BIND_RESULTS:
            raise LoginRefused(REFUSED)
        raise _DirectoryFailed(f"the user's bind failed: {_describeResult(conn.result)}")

    def _bindSearchAccount(self, conn: Any, deadline: _Deadline) -> None:
        """Bind as ``bindDn`` (or stay anonymous without one); refusal is a directory fault."""
        settings = self.settings
        if not settings.bindDn:
            return
        self._narrow(conn, deadline)
        if not _simpleBind(conn, settings.bindDn, settings.bindPassword):
            raise _DirectoryFailed(
                f"the search account {settings.bindDn} cannot bind: {_describeResult(conn.result)}"
            )

    def _search(
        self, conn: Any, deadline: _Deadline, base: str, search: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Search the subtree of ``base``; the entries found (``dn``, ``attributes``)."""
        self._narrow(conn, deadline)
        conn.search(base, search, SUBTREE, **kwargs)
        code = conn.result.get("result")
        # 0 success, 4 sizeLimitExceeded (the entries up to the limit are there). A base
        # that does not exist (32 noSuchObject) is a configuration fault, not "no user".
        if code not in (0, 4):
            raise _DirectoryFailed(f"searching {base} failed: {_describeResult(conn.result)}")
        return [item for item in conn.response or () if item.get("type") == "searchResEntry"]

    def _findUser(self, conn: Any, deadline: _Deadline, userName: str) -> str:
        """The DN of the one entry ``userSearchFilter`` finds; ``LoginRefused`` otherwise."""
        settings = self.settings
        search = settings.userSearchFilter.replace(USER_PLACEHOLDER, escape_filter_chars(userName))
        found = self._search(
            conn, deadline, settings.userSearchBase, search, attributes=["1.1"], size_limit=2
        )
        if len(found) > 1:
            logger.warning(
                "LDAP directory %s: more than one entry under %s matches %s; refusing the "
                "login, make userSearchFilter match one user",
                settings.name,
                settings.userSearchBase,
                search,
            )
        if len(found) != 1:
            raise LoginRefused(REFUSED)
        return str(found[0]["dn"])

    def _groups(
        self, conn: Any, deadline: _Deadline, userDn: str, userName: str
    ) -> list[tuple[str, list[str]]]:
        """The user's groups under ``groupSearchBase`` as ``(dn, cns)``."""
        settings = self.settings
        if not settings.groupSearchBase or not settings.groupRoles:
            return []
        attribute = settings.groupMemberAttribute
        member = userName if attribute.lower() in NAME_MEMBER_ATTRIBUTES else userDn
        search = f"({attribute}={escape_filter_chars(member)})"
        found = self._search(conn, deadline, settings.groupSearchBase, search, attributes=["cn"])
        groups = []
        for entry in found:
            cns = entry.get("attributes", {}).get("cn", [])
            groups.append((str(entry["dn"]), [cns] if isinstance(cns, str) else list(cns)))
        return groups

    def _rolesOf(self, group: tuple[str, list[str]]) -> frozenset[str]:
        """The roles ``groupRoles`` gives one group, by its DN or any of its CNs."""
        dn, cns = group
        try:
            dnKey = normaliseDn(dn)
        except ValueError:
            dnKey = dn.lower()
        keys = [dnKey, *(cn.lower() for cn in cns)]
        roles: set[str] = set()
        for key in keys:
            roles |= self.settings.groupRoles.get(key, frozenset())
        return frozenset(roles)


def _simpleBind(conn: Any, dn: str, password: str) -> bool:
    """Bind ``conn`` as ``dn``: True on success, else ``conn.result`` says why.

    Not ``Connection.rebind``: it turns a timeout into an ``LDAPBindError`` that no longer
    says the server was silent.
    """
    conn.user, conn.password, conn.authentication = dn, password, SIMPLE
    return bool(conn.bind(read_server_info=False))


def _closeSocket(conn: Any) -> None:
    """Close the connection's socket, whatever state ldap3 left it in."""
    sock = getattr(conn, "socket", None)
    if sock is not None:
        sock.close()


def _plainMessage(error: Exception) -> str:
    """ldap3 nests messages as reprs of tuples (``("('socket ssl wrapping error...',)",)``);
    the innermost text."""
    text = str(error)
    for _ in range(4):
        try:
            inner = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            break
        if isinstance(inner, tuple) and len(inner) == 1:
            inner = inner[0]
        if not isinstance(inner, str):
            break
        text = inner
    return text


def _reason(error: Exception, doing: str, deadline: _Deadline) -> str:
    """Why talking to the server failed, in words an administrator can act on."""
    # ldap3 reports a name with several addresses as ("unable to open socket", [(error,
    # address), ...]); the first address's error says enough.
    if len(error.args) == 2 and isinstance(error.args[1], list) and error.args[1]:
        first = error.args[1][0]
        if isinstance(first, tuple) and first and isinstance(first[0], Exception):
            return _reason(first[0], doing, deadline)
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return f"no answer within {deadline.seconds:g} s ({doing})"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return f"{doing} failed: {_plainMessage(error)}"


def _describeResult(result: Mapping[str, Any] | None) -> str:
    """An LDAP result as ``description (code): message``."""
    result = result or {}
    text = f"{result.get('description', 'unknown')} ({result.get('result')})"
    message = result.get("message")
    return f"{text}: {message}" if message else text


def normaliseDn(dn: str) -> str:
    """``dn`` in one spelling for comparison: lower case, no spaces around separators.

    Raises ``ValueError`` (ldap3's ``LDAPInvalidDnError`` is one) for a malformed DN.
    """
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException as e:
        raise ValueError(str(e)) from None
    if not parts:
        raise ValueError("empty DN")
    return "".join(
        f"{attribute.lower()}={value.lower()}{separator}" for attribute, value, separator in parts
    )


# ---------------------------------------------------------------------------------------
# Validation of the config key


class _Invalid(Exception):
    """Internal: ``field`` of one directory is wrong; the message never holds a secret."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def directoriesFromConfig(config: ServiceConfig) -> list[LdapDirectorySettings]:
    """Validate logic's ``ldap.directories`` into settings, in config order.

    Raises ``ConfigError`` for the config file with a message naming the field, such as
    ``ldap.directories[1].url: must start with ldap:// or ldaps://, got 'http://x'``. A
    secret's value never appears in a message. A relative ``tlsCaPath`` is relative to
    the service's home.
    """
    directories: list[LdapDirectorySettings] = []
    seen: set[str] = set()
    for index, raw in enumerate(config[LDAP_DIRECTORIES_KEY]):
        where = f"{LDAP_DIRECTORIES_KEY}[{index}]"
        try:
            settings = _settings(raw, config.home)
        except _Invalid as e:
            suffix = f".{e.field}" if e.field else ""
            raise ConfigError(config.path, f"{where}{suffix}: {e}") from None
        if settings.name in seen:
            raise ConfigError(
                config.path,
                f"{where}.name: {settings.name!r} is already the name of another directory",
            )
        seen.add(settings.name)
        directories.append(settings)
    return directories


def _settings(raw: Any, home: Path) -> LdapDirectorySettings:
    """One directory object as settings; ``_Invalid`` naming the first wrong field."""
    if not isinstance(raw, dict):
        raise _Invalid("", f"expected an object, got {describeValue(raw)}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise _Invalid(str(unknown[0]), f"unknown field; the fields are {', '.join(_FIELDS)}")

    name = _string(raw, "name", required=True)
    if not _NAME_PATTERN.fullmatch(name):
        raise _Invalid(
            "name",
            f"must be letters, digits, '_', '.' or '-' (it is part of user ids), got {name!r}",
        )
    url = _url(_string(raw, "url", required=True))
    mode = _string(raw, "mode", required=True)
    if mode not in MODES:
        raise _Invalid("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    for other in _SEARCH_ONLY if mode == "bind" else _BIND_ONLY:
        if other in raw:
            raise _Invalid(other, f"is not used in {mode} mode; remove it or change the mode")

    values: dict[str, Any] = {
        "name": name,
        "url": url,
        "mode": mode,
        "sites": _sites(raw),
        "timeoutSeconds": _timeout(raw),
    }
    if mode == "bind":
        template = _string(raw, "userDnTemplate", required=True)
        _placeholderDn("userDnTemplate", template)
        values["userDnTemplate"] = template
    else:
        values.update(_searchSettings(raw))
    values.update(_groupSettings(raw))
    tlsCaPath = _string(raw, "tlsCaPath")
    if tlsCaPath:
        if not url.lower().startswith("ldaps://"):
            raise _Invalid("tlsCaPath", "is only used with an ldaps:// url")
        path = home / tlsCaPath
        if not path.is_file():
            raise _Invalid("tlsCaPath", f"no such file: {path}")
        values["tlsCaPath"] = str(path)
    return LdapDirectorySettings(**values)


def _string(raw: dict, name: str, *, required: bool = False, secret: bool = False) -> str:
    """Field ``name`` as a string (``''`` when missing and optional)."""
    if name not in raw:
        if required:
            raise _Invalid(name, f"is required ({_FIELDS[name]})")
        return ""
    value = raw[name]
    if not isinstance(value, str):
        got = "another type" if secret else describeValue(value)
        raise _Invalid(name, f"expected a string, got {got}")
    if required and not value.strip():
        raise _Invalid(name, f"must not be empty ({_FIELDS[name]})")
    return value


def _url(url: str) -> str:
    """Check an ``ldap://host[:port]`` or ``ldaps://host[:port]`` URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise _Invalid("url", f"{e}: {url!r}") from None
    if parts.scheme.lower() not in ("ldap", "ldaps"):
        raise _Invalid("url", f"must start with ldap:// or ldaps://, got {url!r}")
    if not parts.hostname:
        raise _Invalid("url", f"has no host name, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise _Invalid("url", "must not hold credentials; use bindDn and bindPassword")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _Invalid("url", f"must be only ldap[s]://host[:port], got {url!r}")
    if port == 0:
        raise _Invalid("url", f"has port 0, got {url!r}")
    return url


def _sites(raw: dict) -> frozenset[str]:
    """Field ``sites``: a non-empty list of known sites; every site when missing."""
    if "sites" not in raw:
        return frozenset(SITES)
    value = raw["sites"]
    if not isinstance(value, list) or not value:
        raise _Invalid("sites", f"expected a non-empty list of {', '.join(SITES)}")
    for item in value:
        if item not in SITES:
            raise _Invalid("sites", f"{item!r} is not one of {', '.join(SITES)}")
    return frozenset(value)


def _timeout(raw: dict) -> float:
    """Field ``timeoutSeconds``: a number above 0, at most ``MAX_TIMEOUT_SECONDS``."""
    value = raw.get("timeoutSeconds", 5)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Invalid("timeoutSeconds", f"expected a number, got {describeValue(value)}")
    if not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise _Invalid(
            "timeoutSeconds",
            f"must be greater than 0 and at most {MAX_TIMEOUT_SECONDS:g}, got {value!r}",
        )
    return float(value)


def _dn(field: str, value: str) -> None:
    """Check that ``value`` is a well-formed DN."""
    try:
        normaliseDn(value)
    except ValueError as e:
        raise _Invalid(field, f"is not a valid DN ({e}): {value!r}") from None


def _placeholderDn(field: str, value: str) -> None:
    """Check a DN template: ``{user}`` once, and a valid DN around it."""
    if value.count(USER_PLACEHOLDER) != 1:
        raise _Invalid(field, f"must contain {USER_PLACEHOLDER} once, got {value!r}")
    _dn(field, value.replace(USER_PLACEHOLDER, "x"))


def _searchSettings(raw: dict) -> dict[str, Any]:
    """The search-mode fields, checked."""
    bindDn = _string(raw, "bindDn")
    bindPassword = _string(raw, "bindPassword", secret=True)
    if bindDn:
        _dn("bindDn", bindDn)
        if not bindPassword:
            raise _Invalid(
                "bindPassword",
                "is required with bindDn (an empty password would be an anonymous bind)",
            )
    elif bindPassword:
        raise _Invalid(
            "bindPassword", "is set but bindDn is not; set both, or neither for an anonymous search"
        )
    userSearchBase = _string(raw, "userSearchBase", required=True)
    _dn("userSearchBase", userSearchBase)
    userSearchFilter = _string(raw, "userSearchFilter", required=True).strip()
    if userSearchFilter.count(USER_PLACEHOLDER) < 1:
        raise _Invalid(
            "userSearchFilter", f"must contain {USER_PLACEHOLDER}, got {userSearchFilter!r}"
        )
    if not _balancedFilter(userSearchFilter):
        raise _Invalid(
            "userSearchFilter",
            f"must be one parenthesised LDAP filter like (uid={USER_PLACEHOLDER}), "
            f"got {userSearchFilter!r}",
        )
    return {
        "bindDn": bindDn,
        "bindPassword": bindPassword,
        "userSearchBase": userSearchBase,
        "userSearchFilter": userSearchFilter,
    }


def _balancedFilter(text: str) -> bool:
    """True when ``text`` is one ``(...)`` group with balanced parentheses."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or (depth == 0 and index != len(text) - 1):
            return False
    return depth == 0


def _groupSettings(raw: dict) -> dict[str, Any]:
    """``groupSearchBase``, ``groupMemberAttribute`` and ``groupRoles``, checked."""
    groupSearchBase = _string(raw, "groupSearchBase")
    if groupSearchBase:
        _dn("groupSearchBase", groupSearchBase)
    attribute = _string(raw, "groupMemberAttribute") or "member"
    if not _ATTRIBUTE_PATTERN.fullmatch(attribute):
        raise _Invalid(
            "groupMemberAttribute", f"must be an attribute name like member, got {attribute!r}"
        )
    value = raw.get("groupRoles", {})
    if not isinstance(value, dict):
        raise _Invalid("groupRoles", f"expected an object, got {describeValue(value)}")
    groupRoles: dict[str, frozenset[str]] = {}
    for group, roles in value.items():
        where = f"groupRoles[{group!r}]"
        if not group.strip():
            raise _Invalid(where, "a group name must not be empty")
        if not isinstance(roles, list) or not all(
            isinstance(role, str) and role.strip() for role in roles
        ):
            raise _Invalid(where, "expected a list of role names")
        if "=" in group:
            try:
                key = normaliseDn(group)
            except ValueError as e:
                raise _Invalid(where, f"is not a valid group DN ({e})") from None
        else:
            key = group.lower()
        groupRoles[key] = groupRoles.get(key, frozenset()) | frozenset(roles)
    if groupRoles and not groupSearchBase:
        raise _Invalid("groupSearchBase", "is required when groupRoles maps groups to roles")
    return {
        "groupSearchBase": groupSearchBase,
        "groupMemberAttribute": attribute,
        "groupRoles": groupRoles,
    }
