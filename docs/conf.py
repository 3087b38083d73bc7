"""Sphinx configuration of the Peek documentation (built with ``sphinx-build -W``)."""

import sys
from pathlib import Path

DOCS_DIR = Path(__file__).resolve().parent
REPO_ROOT = DOCS_DIR.parent

# The local extensions live in _ext/; the repository root makes the packages importable for
# autodoc and the config key table even when the project is not installed.
sys.path[:0] = [str(DOCS_DIR / "_ext"), str(REPO_ROOT)]

from peek_platform import __version__  # noqa: E402  (needs the path set above)

project = "Peek"
author = "The Peek developers"
copyright = "the Peek developers"
version = __version__
release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "peek_command_help",
    "peek_config_keys",
    "peek_package_modules",
    "peek_project_tree",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": True}
autodoc_typehints = "description"
# Inherited third-party docstrings (SQLAlchemy, Twisted) carry cross-references to their own
# docs, which do not resolve here.
autodoc_inherit_docstrings = False

html_theme = "alabaster"
html_title = f"Peek {release}"
html_theme_options = {
    "description": "A platform hosting many small plugins",
    "fixed_sidebar": True,
    # Wide enough for the config key table and the commands' --help output.
    "page_width": "1240px",
    "body_max_width": "none",
}
