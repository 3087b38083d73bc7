"""HTML pages rendered from the ``assets/templates`` files with escaped substitutions."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

#: Static files of the field and office app shell (served at ``/static/``).
APP_ASSETS_DIR = Path(__file__).resolve().parent / "assets" / "app"
#: Page templates of this package.
TEMPLATES_DIR = Path(__file__).resolve().parent / "assets" / "templates"


class Markup(str):
    """Text that is already HTML and is substituted as is."""


def renderTemplate(path: Path, **values: str) -> bytes:
    """Fill ``$name`` placeholders of the template at ``path``; plain strings are escaped.

    A placeholder without a value is an error (``KeyError`` naming it), so a page never
    goes out half filled.
    """
    text = Template(path.read_text(encoding="utf-8"))
    escaped = {
        name: value if isinstance(value, Markup) else html.escape(value, quote=True)
        for name, value in values.items()
    }
    return text.substitute(escaped).encode("utf-8")
