"""Finding installed plugin packages without importing them."""

from __future__ import annotations

import json
import sys

from peek_platform.plugin.discovery import findInstalledPlugins, isPluginName


def makePackage(root, name, packageJson=None):
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    if packageJson is not None:
        (pkg / "plugin_package.json").write_text(packageJson)
    return pkg


def test_finds_plugin_packages_sorted_with_metadata_or_error(tmp_path):
    """peek_plugin_*/peek_core_* packages are listed by name, each with metadata or error."""
    good = {
        "plugin": {"title": "Z", "packageName": "peek_plugin_zed_disc", "version": "1"},
        "requiresServices": ["logic"],
    }
    makePackage(tmp_path, "peek_plugin_zed_disc", json.dumps(good))
    makePackage(tmp_path, "peek_core_alpha_disc", "{ not json")
    makePackage(tmp_path, "other_package_disc", "{}")
    (tmp_path / "peek_plugin_module_disc.py").write_text("")
    found = findInstalledPlugins([str(tmp_path)])
    assert [p.name for p in found] == ["peek_core_alpha_disc", "peek_plugin_zed_disc"]
    alpha, zed = found
    assert alpha.metadata is None and "invalid JSON" in alpha.error
    assert alpha.rootDir == tmp_path / "peek_core_alpha_disc"
    assert zed.error is None and zed.metadata.title == "Z"
    assert "peek_plugin_zed_disc" not in sys.modules


def test_first_package_on_the_path_wins(tmp_path):
    """When two path entries hold the same plugin, the first one is reported."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    makePackage(first, "peek_plugin_twice_disc")
    makePackage(second, "peek_plugin_twice_disc")
    (found,) = findInstalledPlugins([str(first), str(second)])
    assert found.rootDir == first / "peek_plugin_twice_disc"
    assert "plugin_package.json not found" in found.error


def test_platform_contract_package_is_not_a_plugin():
    """``peek_plugin_base`` shares the plugin prefix but is never listed as a plugin."""
    assert not isPluginName("peek_plugin_base")
    assert "peek_plugin_base" not in {p.name for p in findInstalledPlugins()}


def test_editable_installed_plugin_is_found():
    """A plugin installed with ``pip install -e`` (import-hook editable) is discovered."""
    noop = {p.name: p for p in findInstalledPlugins()}["peek_plugin_noop"]
    assert noop.error is None
    assert noop.metadata.title == "Noop Plugin"
