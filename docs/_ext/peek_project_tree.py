"""Sphinx directive ``project-tree``: the file tree of a directory of the repository.

``.. project-tree:: ../../plugins/peek-plugin-noop`` draws the real layout of the shipped
plugin at build time, so the plugin guide shows the files the template really has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: Build output and caches that are not part of a project's layout.
IGNORED_NAMES = frozenset({"__pycache__", "build", "dist", "node_modules"})
IGNORED_SUFFIXES = (".egg-info", ".pyc", ".pyo")


def _shown(path: Path) -> bool:
    name = path.name
    hidden = name.startswith(".") and name != ".gitignore"
    return not (hidden or name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES))


def treeLines(root: Path) -> list[str]:
    """Lines of a ``tree``-style drawing of ``root``: directories first, then files."""
    lines = [f"{root.name}/"]

    def walk(directory: Path, prefix: str) -> None:
        children = sorted(
            (child for child in directory.iterdir() if _shown(child)),
            key=lambda child: (not child.is_dir(), child.name),
        )
        for index, child in enumerate(children):
            last = index == len(children) - 1
            suffix = "/" if child.is_dir() else ""
            lines.append(f"{prefix}{'└── ' if last else '├── '}{child.name}{suffix}")
            if child.is_dir():
                walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    return lines


class ProjectTreeDirective(SphinxDirective):
    """Show the file tree of a directory given relative to the current document."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Draw the tree; a missing directory is a build error."""
        _, absolute = self.env.relfn2path(self.arguments[0], self.env.docname)
        root = Path(absolute)
        if not root.is_dir():
            raise self.error(f"project-tree: directory {root} does not exist")
        text = "\n".join(treeLines(root))
        block = nodes.literal_block(text, text, language="text", classes=["project-tree"])
        self.set_source_info(block)
        return [block]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``project-tree`` directive."""
    app.add_directive("project-tree", ProjectTreeDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
