"""Fixtures writing small real plugin packages into tmp_path and loading them."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pytest
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from peek_agent_service.platform_hook import AgentPlatformHook
from peek_field_service.platform_hook import FieldPlatformHook
from peek_logic_service.platform_hook import LogicPlatformHook
from peek_office_service.platform_hook import OfficePlatformHook
from peek_platform.http.plugin_resources import SiteResources
from peek_platform.plugin.loader import PluginLoader
from peek_platform.services import ServiceSpec
from peek_worker_service.platform_hook import WorkerPlatformHook

LOGIC_BASE = "peek_plugin_base.logic.PluginLogicEntryHookABC:PluginLogicEntryHookABC"
LIFECYCLE = ("load", "start", "stop", "unload")

_INIT_TEMPLATE = """\
from twisted.internet import defer, task

import {journal} as J
from {baseModule} import {baseClass}


class EntryHook({baseClass}):
{classBody}
{methods}

def {hook}():
    return EntryHook
"""

_METHOD_TEMPLATE = """\
    {asyncPrefix}def {method}(self):
        J.EVENTS.append((self.name, "{method}"))
{body}
"""


class PluginWriter:
    """Writes uniquely named plugin packages and a shared journal module they record into."""

    def __init__(self, root: Path, uid: str) -> None:
        self.root = root
        self.uid = uid
        self.journalName = f"plugin_journal_{uid}"
        (root / f"{self.journalName}.py").write_text("EVENTS = []\nCLOCK = None\n")
        importlib.invalidate_caches()
        self.journal: ModuleType = importlib.import_module(self.journalName)
        self._short: dict[str, str] = {}

    def name(self, short: str) -> str:
        """The package name of the plugin written as ``short``."""
        return f"peek_plugin_{short}_{self.uid}"

    def write(
        self,
        short: str,
        *,
        services: Sequence[str] = ("logic",),
        requires: Sequence[str] = (),
        hook: str = "peekLogicEntryHook",
        base: str = LOGIC_BASE,
        methods: dict[str, str] | None = None,
        asyncMethods: Sequence[str] = (),
        classBody: str = "",
        packageJson: Callable[[dict], None] | None = None,
        packageJsonText: str | None = None,
        initSource: str | None = None,
        files: dict[str, str] | None = None,
    ) -> str:
        """Write plugin ``short``; lifecycle methods journal their call, then run ``methods``."""
        name = self.name(short)
        self._short[name] = short
        pkg = self.root / name
        pkg.mkdir()
        if initSource is None:
            baseModule, baseClass = base.split(":")
            bodies = methods or {}
            methodSource = "\n".join(
                _METHOD_TEMPLATE.format(
                    asyncPrefix="async " if method in asyncMethods else "",
                    method=method,
                    body=textwrap.indent(
                        textwrap.dedent(bodies.get(method, "return None")), " " * 8
                    ),
                )
                for method in LIFECYCLE
            )
            initSource = _INIT_TEMPLATE.format(
                journal=self.journalName,
                baseModule=baseModule,
                baseClass=baseClass,
                classBody=textwrap.indent(textwrap.dedent(classBody), " " * 4),
                methods=methodSource,
                hook=hook,
            )
        (pkg / "__init__.py").write_text(initSource.replace("JOURNAL", self.journalName))
        for relPath, source in (files or {}).items():
            target = pkg / relPath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.replace("JOURNAL", self.journalName))
        if packageJsonText is None:
            document = {
                "plugin": {"title": f"Test {short}", "packageName": name, "version": "1.0.0"},
                "requiresServices": list(services),
            }
            if requires:
                document["requiresPlugins"] = [self.name(r) for r in requires]
            if packageJson is not None:
                packageJson(document)
            packageJsonText = json.dumps(document, indent=2)
        (pkg / "plugin_package.json").write_text(packageJsonText)
        importlib.invalidate_caches()
        return name

    def events(self) -> list[tuple[str, str]]:
        """The journal as ``(shortName, method)`` pairs, in call order."""
        return [(self._short.get(name, name), what) for name, what in self.journal.EVENTS]


@pytest.fixture
def writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginWriter]:
    """A PluginWriter on sys.path (via monkeypatch); its modules leave sys.modules after."""
    uid = uuid.uuid4().hex[:10]
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield PluginWriter(root, uid)
    for moduleName in [m for m in sys.modules if uid in m]:
        del sys.modules[moduleName]


@pytest.fixture
def clock() -> task.Clock:
    """The reactor time source the loader and the plugins share."""
    return task.Clock()


@pytest.fixture
def sites() -> dict[str, SiteResources]:
    """One resource registry per web site."""
    return {name: SiteResources(name) for name in ("admin", "logic", "field", "office")}


@pytest.fixture
def makeLoader(
    tmp_path: Path, clock: task.Clock, sites: dict[str, SiteResources], writer: PluginWriter
) -> Callable[..., PluginLoader]:
    """Build a PluginLoader for a service with that service's real platform hook."""
    writer.journal.CLOCK = clock
    home = tmp_path / "home"
    config = {"dataExchange.host": "127.0.0.1", "dataExchange.port": 8011}

    def factories(spec: ServiceSpec) -> Callable[[str, Path, PluginLoader], object]:
        def build(name: str, rootDir: Path, loader: PluginLoader) -> object:
            if spec.key == "logic":
                return LogicPlatformHook(
                    home, config, name, loader, adminSite=sites["admin"], logicSite=sites["logic"]
                )
            if spec.key == "field":
                return FieldPlatformHook(home, config, name, loader, fieldSite=sites["field"])
            if spec.key == "office":
                return OfficePlatformHook(home, config, name, loader, officeSite=sites["office"])
            hookClass = AgentPlatformHook if spec.key == "agent" else WorkerPlatformHook
            return hookClass(home, config, name, loader)

        return build

    def make(spec: ServiceSpec, enabled: Sequence[str], **kwargs) -> PluginLoader:
        return PluginLoader(spec, enabled, factories(spec), reactor=clock, **kwargs)

    return make


def fired(d: Deferred):
    """The result of a Deferred that must have fired successfully already."""
    results: list = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired yet"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


@pytest.fixture
def resultOf() -> Callable[[Deferred], object]:
    """Return ``fired``: the result of an already-fired Deferred, raising its failure."""
    return fired
