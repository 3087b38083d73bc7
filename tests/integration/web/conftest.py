"""Fixtures for the web site integration tests: a web test plugin and an HTTP client.

The parent ``tests/integration/conftest.py`` provides homes, configs (shared secret,
loopback, OS-picked ports), processes and waits; this one adds a plugin that ships an admin
page and a field app.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

#: The web test plugin's package name.
WEB_PLUGIN = "peek_plugin_itest_web"

_WEB_PLUGIN_INIT = '''"""Integration-test plugin: an admin page on logic and an app on field."""

import os

from peek_plugin_base.field.PluginFieldEntryHookABC import PluginFieldEntryHookABC
from peek_plugin_base.logic.PluginLogicEntryHookABC import PluginLogicEntryHookABC

_HERE = os.path.dirname(__file__)


class LogicHook(PluginLogicEntryHookABC):
    def load(self):
        self.platform.addAdminStaticResourceDir(os.path.join(_HERE, "admin_app"))

    def start(self):
        pass

    def stop(self):
        pass

    def unload(self):
        pass


class FieldHook(PluginFieldEntryHookABC):
    def load(self):
        self.platform.addMobileStaticResourceDir(os.path.join(_HERE, "field_app"))

    def start(self):
        pass

    def stop(self):
        pass

    def unload(self):
        pass


def peekLogicEntryHook():
    return LogicHook


def peekFieldEntryHook():
    return FieldHook
'''


@pytest.fixture(scope="session")
def webPluginDir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the web test plugin package (for PYTHONPATH)."""
    directory = tmp_path_factory.mktemp("itest-web-plugin")
    package = directory / WEB_PLUGIN
    (package / "admin_app").mkdir(parents=True)
    (package / "field_app").mkdir()
    (package / "__init__.py").write_text(_WEB_PLUGIN_INIT, encoding="utf-8")
    (package / "admin_app" / "index.html").write_text("<p>itest admin page</p>")
    (package / "field_app" / "index.html").write_text("<p>itest field app</p>")
    (package / "field_app" / "app.mjs").write_text("export const ok = true;\n")
    metadata = {
        "plugin": {"title": "Web Test", "packageName": WEB_PLUGIN, "version": "0.0.1"},
        "requiresServices": ["logic", "field"],
    }
    (package / "plugin_package.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


@dataclass
class HttpAnswer:
    """Status, headers and body of one HTTP exchange."""

    code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpClient:
    """urllib with a cookie jar and no redirect following, for one site."""

    def __init__(self, baseUrl: str) -> None:
        self.baseUrl = baseUrl
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(
        self, path: str, *, data: dict[str, str] | None = None, headers: dict | None = None
    ) -> HttpAnswer:
        """GET (or POST a form when ``data`` is given) and return the answer, any status."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.baseUrl + path, data=body, headers=headers or {})
        try:
            with self._opener.open(request, timeout=10) as response:
                return HttpAnswer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return HttpAnswer(error.code, dict(error.headers), error.read())

    def logIn(self, user: str, password: str) -> HttpAnswer:
        """Fill in and post the site's login form like a browser; the answer to the post."""
        form = self.request("/login").text
        match = re.search(r'name="csrfToken" value="([^"]+)"', form)
        assert match, form
        data = {"username": user, "password": password, "csrfToken": match.group(1)}
        return self.request("/login", data=data, headers={"Origin": self.baseUrl})


@pytest.fixture(name="HttpClient")
def httpClientClass() -> type[HttpClient]:
    """The urllib client class, for tests."""
    return HttpClient


@pytest.fixture(name="loginToken")
def loginTokenFixture():
    """``loginToken(html)``: the CSRF token of a login form page."""

    def find(html: str) -> str:
        match = re.search(r'name="csrfToken" value="([^"]+)"', html)
        assert match, html
        return match.group(1)

    return find
