"""Sphinx directive ``package-modules``: an autodoc section for every module of a package.

``.. package-modules:: peek_plugin_base`` walks the package at build time and emits one
section with ``automodule`` per module, so a module added to the code appears in the API
reference without anyone editing the docs. A module that fails to import fails the build.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


class PackageWalkError(Exception):
    """A module of the package cannot be imported."""


def packageModuleNames(packageName: str) -> list[str]:
    """The package and all its modules, recursively, sorted by dotted name."""
    try:
        package = importlib.import_module(packageName)
    except ImportError as error:
        raise PackageWalkError(f"cannot import package {packageName!r}: {error}") from error
    if not hasattr(package, "__path__"):
        raise PackageWalkError(f"{packageName!r} is a module, not a package")

    def onError(name: str) -> None:
        raise PackageWalkError(f"cannot import {name!r} while walking {packageName!r}")

    found = pkgutil.walk_packages(package.__path__, prefix=f"{packageName}.", onerror=onError)
    return [packageName, *sorted(info.name for info in found)]


def automoduleSource(moduleNames: list[str]) -> list[str]:
    """reStructuredText: one titled section with ``automodule :members:`` per module."""
    lines: list[str] = []
    for name in moduleNames:
        lines += [name, "-" * len(name), "", f".. automodule:: {name}", "   :members:", ""]
    return lines


class PackageModulesDirective(SphinxDirective):
    """Document every module of the named package with autodoc."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Walk the package and parse the generated automodule sections in place."""
        try:
            names = packageModuleNames(self.arguments[0])
        except PackageWalkError as error:
            raise self.error(f"package-modules: {error}") from error
        source, line = self.get_source_info()
        content = StringList()
        for text in automoduleSource(names):
            content.append(text, source, line)
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, content, container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``package-modules`` directive (needs ``sphinx.ext.autodoc``)."""
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("package-modules", PackageModulesDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
