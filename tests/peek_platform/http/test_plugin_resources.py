"""Per-plugin resource trees and the per-site registry."""

from __future__ import annotations

import re

import pytest
from twisted.web import static
from twisted.web.resource import Resource, getChildForRequest
from twisted.web.test.requesthelper import DummyRequest

from peek_platform.http.plugin_resources import PluginResourceError, SiteResources


def resolve(site: SiteResources, path: str):
    """Resolve ``/<plugin>/<rest>`` the way a site mounting the registry would."""
    pluginName, _, rest = path.strip("/").partition("/")
    root = site.resourceFor(pluginName)
    assert root is not None, f"{pluginName} has no tree on {site.siteName}"
    return getChildForRequest(root, DummyRequest(rest.encode().split(b"/")))


def test_added_resource_is_served_under_the_plugin():
    """addResource serves the resource at /<pluginName>/<subPath>."""
    site, api = SiteResources("admin"), Resource()
    site.pluginRoot("peek_plugin_a").addResource(b"api", api)
    assert resolve(site, "/peek_plugin_a/api") is api


def test_multi_segment_sub_paths_nest():
    """A sub path with slashes creates the intermediate levels."""
    site, v1, v2 = SiteResources("admin"), Resource(), Resource()
    root = site.pluginRoot("peek_plugin_a")
    root.addResource(b"api/v1", v1)
    root.addResource("api/v2", v2)
    assert resolve(site, "/peek_plugin_a/api/v1") is v1
    assert resolve(site, "/peek_plugin_a/api/v2") is v2


def test_duplicate_sub_path_is_refused():
    """Adding the same sub path twice is an error naming plugin, site and path."""
    root = SiteResources("field").pluginRoot("peek_plugin_a")
    root.addResource(b"api", Resource())
    with pytest.raises(PluginResourceError) as info:
        root.addResource(b"/api/", Resource())
    assert str(info.value) == (
        "peek_plugin_a: field site: /peek_plugin_a/api is already registered; "
        "each sub path can be added once"
    )


@pytest.mark.parametrize("subPath", [b"", b"a//b", b"../x"])
def test_invalid_sub_path_is_refused(subPath):
    """Empty, doubled-slash or dot segments are refused."""
    with pytest.raises(PluginResourceError, match="is not a valid path"):
        SiteResources("field").pluginRoot("peek_plugin_a").addResource(subPath, Resource())


def test_static_dir_serves_files_and_explicit_children_win(tmp_path):
    """The static dir serves its files; explicitly added resources take precedence."""
    (tmp_path / "index.html").write_text("<p>hi</p>")
    site, api = SiteResources("office"), Resource()
    root = site.pluginRoot("peek_plugin_a")
    root.addStaticResourceDir(str(tmp_path))
    root.addResource(b"api", api)
    served = resolve(site, "/peek_plugin_a/index.html")
    assert isinstance(served, static.File)
    assert served.path == str(tmp_path / "index.html")
    assert resolve(site, "/peek_plugin_a/api") is api


def test_missing_static_dir_is_refused(tmp_path):
    """A static dir that does not exist is an error naming it."""
    missing = tmp_path / "nope"
    with pytest.raises(
        PluginResourceError, match=re.escape(f"static resource dir {missing} does not exist")
    ):
        SiteResources("office").pluginRoot("peek_plugin_a").addStaticResourceDir(missing)


def test_second_static_dir_is_refused(tmp_path):
    """A plugin has one static dir per site; a second is refused naming the first."""
    root = SiteResources("office").pluginRoot("peek_plugin_a")
    root.addStaticResourceDir(tmp_path)
    with pytest.raises(
        PluginResourceError, match=re.escape(f"already serves static dir {tmp_path}")
    ):
        root.addStaticResourceDir(tmp_path)


def test_without_static_dir_unknown_paths_are_not_found():
    """A path no resource claims resolves to a 404 page."""
    site = SiteResources("admin")
    site.pluginRoot("peek_plugin_a").addResource(b"api", Resource())
    request = DummyRequest([b""])
    resolve(site, "/peek_plugin_a/other").render(request)
    assert request.responseCode == 404


def test_release_removes_only_that_plugins_tree():
    """release() drops one plugin's tree and keeps the others."""
    site = SiteResources("admin")
    site.pluginRoot("peek_plugin_a")
    site.pluginRoot("peek_plugin_b")
    site.release("peek_plugin_a")
    assert site.pluginNames() == ["peek_plugin_b"]
    assert site.resourceFor("peek_plugin_a") is None
