"""The one exception type the service configuration raises."""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A service ``config.json`` could not be read, parsed, validated or written.

    ``str(error)`` is always a single line, ``PATH:LINE:COL: message`` when the position in
    the file is known and ``PATH: message`` otherwise, so a service can print it and exit
    with status 2. Whenever this is raised the file on disk has not been modified.

    A file that parses but contains comments is *not* an error: the loader keeps the
    missing defaults in memory instead of rewriting (which would drop the comments) and
    reports them in ``ServiceConfig.unwrittenKeys`` for the caller to log as a WARNING.
    """

    def __init__(
        self,
        path: Path,
        message: str,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.path = Path(path)
        #: What is wrong, flattened to one line; names the dotted key for value errors.
        self.message = " ".join(str(message).split())
        #: 1-based line and column in the file, or ``None`` when not known.
        self.line = line
        self.col = col
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        if self.col is None:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}:{self.line}:{self.col}: {self.message}"
