"""Static directories: pinned content types, no listings, absent directories."""

from __future__ import annotations

from twisted.web.server import Site

from peek_platform.http.static_files import OptionalStaticDirectory, StaticDirectory
from peek_platform.testing.InMemoryBrowser import InMemoryBrowser


def test_content_types_are_pinned(tmp_path):
    """Module, script, style and JSON files get the web types whatever mime.types says."""
    for name in ("a.mjs", "b.js", "c.css", "d.json"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    browser = InMemoryBrowser(Site(StaticDirectory(str(tmp_path))))
    types = {
        name: browser.get(f"/{name}").header("Content-Type")
        for name in ("a.mjs", "b.js", "c.css", "d.json")
    }
    assert types == {
        "a.mjs": "text/javascript",
        "b.js": "text/javascript",
        "c.css": "text/css",
        "d.json": "application/json",
    }


def test_directory_is_never_listed(tmp_path):
    """A directory without index.html is not found, its file names not shown."""
    (tmp_path / "private.txt").write_text("x", encoding="utf-8")
    response = InMemoryBrowser(Site(StaticDirectory(str(tmp_path)))).get("/")
    assert response.code == 404
    assert b"private.txt" not in response.body


def test_optional_directory_appears_when_created(tmp_path):
    """An absent directory answers 404 until it exists, then serves its files."""
    directory = tmp_path / "later"
    browser = InMemoryBrowser(Site(OptionalStaticDirectory(directory)))
    assert browser.get("/x.js").code == 404
    directory.mkdir()
    (directory / "x.js").write_text("1", encoding="utf-8")
    assert browser.get("/x.js").body == b"1"
    assert browser.get("/").code == 404
