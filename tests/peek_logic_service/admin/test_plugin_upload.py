"""The admin Plugins page's wheel upload (``/api/plugins/upload``): off unless
``plugin.allowUpload``, admins only with CSRF, size-capped, checked to be a plugin wheel,
saved privately, and handed to the package manager (a recording stand-in here)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from twisted.internet import defer

from peek_logic_service.admin.plugin_upload import (
    MAX_UPLOAD_BYTES,
    PluginUploadExtension,
    PluginUploadResource,
)
from peek_logic_service.admin.plugins_pages import PluginsAdmin
from peek_platform.plugin.package_manager import PackageOutcome
from peek_platform.testing.plugin_wheels import Revision, buildWheel, storagePluginFiles

R1 = Revision("r1", None, "pass")


class RecordingManager:
    """Stands in for PluginPackageManager: records calls and the wheel file's state."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def install(self, source: Path, *, enable: bool = False) -> PackageOutcome:
        self.calls.append(("install", source.name, enable, stat.S_IMODE(source.stat().st_mode)))
        return PackageOutcome().finish(True, f"installed {source.name}")

    async def upgrade(self, name: str, source: Path, *, force: bool = False) -> PackageOutcome:
        self.calls.append(("upgrade", name, source.name))
        return PackageOutcome().finish(False, f"upgrade of {name} failed on logic: x")


class Upload(PluginUploadExtension):
    """The extension as configured, with a recording manager and no threads."""

    def __init__(self, allowed: bool, manager: RecordingManager) -> None:
        super().__init__()
        self.allowed = allowed
        self.manager = manager

    def resource(self, auth, commands):
        return PluginUploadResource(
            auth,
            self.allowed,
            lambda actor, say: self.manager,
            lambda fn, *args, **kwargs: defer.maybeDeferred(fn, *args, **kwargs),
        )


@pytest.fixture
def manager() -> RecordingManager:
    return RecordingManager()


@pytest.fixture
def allowed() -> bool:
    return True


@pytest.fixture
def site(admin, manager, allowed):
    """The admin test site with the Plugins API and the upload."""
    upload = Upload(allowed, manager)
    return admin.serveApi(PluginsAdmin(lambda: None, upload).resources(admin.auth))


def pluginWheel(tmp_path: Path, name: str = "peek_plugin_uploaded") -> Path:
    files = storagePluginFiles(name, "1.0.0", (R1,))
    return buildWheel(tmp_path, name.replace("_", "-"), "1.0.0", files)


def upload(site, browser, path: Path | None, *, body=None, token=True, query=""):
    headers = {"Origin": site.origin, "Content-Type": "application/octet-stream"}
    if path is not None:
        headers["X-Wheel-Filename"] = path.name
    if token:
        headers["X-CSRF-Token"] = site.shellToken(browser)
    data = body if body is not None else path.read_bytes()
    return browser.post(f"/api/plugins/upload{query}", headers=headers, body=data)


def test_an_uploaded_new_plugin_is_installed_from_a_private_file(site, browser, manager, tmp_path):
    """GET says it is allowed; a new plugin's wheel is saved mode 0600 and installed,
    enabled when asked; the answer carries the manager's summary."""
    answer = browser.get("/api/plugins/upload")
    assert json.loads(answer.body) == {"allowed": True, "maxBytes": MAX_UPLOAD_BYTES}

    response = upload(site, browser, pluginWheel(tmp_path), query="?enable=true")

    assert response.code == 200, response.body
    document = json.loads(response.body)
    name = "peek_plugin_uploaded-1.0.0-py3-none-any.whl"
    assert document["ok"] is True and document["message"] == f"installed {name}"
    assert manager.calls == [("install", name, True, 0o600)]


def test_an_installed_plugin_is_upgraded(site, browser, manager, tmp_path):
    """A wheel of an installed plugin (the noop plugin is) goes to upgrade; its failure is
    an answer with ok false and the reason."""
    response = upload(site, browser, pluginWheel(tmp_path, "peek_plugin_noop"))

    assert response.code == 200, response.body
    document = json.loads(response.body)
    assert document["ok"] is False and "failed on logic" in document["message"]
    assert manager.calls == [
        ("upgrade", "peek_plugin_noop", "peek_plugin_noop-1.0.0-py3-none-any.whl")
    ]


def test_what_is_not_a_plugin_wheel_is_refused(site, browser, manager, tmp_path):
    """No file name, a wheel that is no plugin (named by its upload name), an empty body,
    and a body over the cap (413) are refused; nothing is installed."""
    other = buildWheel(tmp_path, "left-pad", "1.0", {"left_pad/__init__.py": ""})
    wheel = pluginWheel(tmp_path)

    noName = upload(site, browser, None, body=wheel.read_bytes())
    notPlugin = upload(site, browser, other)
    empty = upload(site, browser, wheel, body=b"")
    tooLarge = upload(site, browser, wheel, body=b"x" * (MAX_UPLOAD_BYTES + 1))

    assert noName.code == 400 and "X-Wheel-Filename" in json.loads(noName.body)["error"]
    assert notPlugin.code == 400
    assert json.loads(notPlugin.body)["error"].startswith(f"{other.name}: not a Peek plugin")
    assert empty.code == 400
    assert tooLarge.code == 413 and "50 MiB" in json.loads(tooLarge.body)["error"]
    assert manager.calls == []


def test_the_upload_needs_login_and_csrf(site, browser, manager, tmp_path):
    wheel = pluginWheel(tmp_path)
    assert site.browser().post("/api/plugins/upload", body=wheel.read_bytes()).code == 401
    assert upload(site, browser, wheel, token=False).code == 403
    assert manager.calls == []


@pytest.mark.parametrize("allowed", [False])
def test_with_the_setting_off_nothing_is_accepted(site, browser, manager, tmp_path):
    """GET says it is not allowed (the page shows no form); POST is 403 naming the key."""
    assert json.loads(browser.get("/api/plugins/upload").body)["allowed"] is False

    response = upload(site, browser, pluginWheel(tmp_path))

    assert response.code == 403
    assert "set plugin.allowUpload to true" in json.loads(response.body)["error"]
    assert manager.calls == []


def test_without_the_upload_wired_the_path_is_unknown(admin, tmp_path):
    """PluginsAdmin without an upload answers 404 for the path (the buttons still work)."""
    site = admin.serveApi(PluginsAdmin(lambda: None).resources(admin.auth))
    browser = site.browser()
    assert site.logIn(browser).code == 303
    assert browser.get("/api/plugins/upload").code == 404
