"""The Sphinx docs build with warnings as errors, and the local directives render the code."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from docutils import nodes

from peek_platform.config.keys import ConfigKey

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = REPO_ROOT / "docs"
EXT_DIR = DOCS_DIR / "_ext"


def _loadExtension(name: str) -> ModuleType:
    """Import a module of docs/_ext by file path, without touching sys.path."""
    spec = importlib.util.spec_from_file_location(f"docs_ext_{name}", EXT_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


configKeysExt = _loadExtension("peek_config_keys")
commandHelpExt = _loadExtension("peek_command_help")
packageModulesExt = _loadExtension("peek_package_modules")
projectTreeExt = _loadExtension("peek_project_tree")


def _sphinxBuild(
    sourceDir: Path, outDir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Build ``sourceDir`` as HTML with warnings as errors, in a fresh interpreter."""
    dirs = (str(sourceDir), str(outDir))
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q", *dirs],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


def _writeScript(binDir: Path, name: str, body: str) -> Path:
    """Write an executable Python script ``name`` into ``binDir``."""
    binDir.mkdir(exist_ok=True)
    script = binDir / name
    script.write_text(f"#!{sys.executable}\n{textwrap.dedent(body)}", encoding="utf-8")
    script.chmod(0o755)
    return script


FAKE_PEEK = """\
import argparse
parser = argparse.ArgumentParser(prog="fakepeek", description="Fake admin tool.")
sub = parser.add_subparsers()
config = sub.add_parser("config").add_subparsers()
check = config.add_parser("check", description="Check the fake configuration.")
check.add_argument("service", help="the service whose config to check")
parser.parse_args()
"""


@pytest.fixture
def pathWithFakePeek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH starts with a directory holding ``fakepeek`` (argparse, with subcommands)."""
    binDir = tmp_path / "bin"
    _writeScript(binDir, "fakepeek", FAKE_PEEK)
    monkeypatch.setenv("PATH", f"{binDir}{os.pathsep}{os.environ['PATH']}")
    return binDir


def _keys() -> list[ConfigKey]:
    """Three config keys covering choices, a secret and a partial service set."""
    return [
        ConfigKey(
            path="logging.level",
            type=str,
            default="INFO",
            description="How much to log.",
            services=frozenset({"logic", "field", "office", "agent", "worker"}),
            choices=("DEBUG", "INFO"),
        ),
        ConfigKey(
            path="sqlalchemy.connectUrl",
            type=str,
            default="",
            description="Database URL.",
            services=frozenset({"worker", "logic"}),
            secret=True,
        ),
        ConfigKey(
            path="plugin.enabled",
            type=list[str],
            default=[],
            description="Plugins to load.",
            services=frozenset({"field"}),
        ),
    ]


def _rowTexts(table: nodes.table) -> list[list[str]]:
    """The cell texts of every body row of a docutils table."""
    body = table.next_node(nodes.tbody)
    return [[entry.astext() for entry in row.children] for row in body.children]


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    """The whole documentation builds with ``sphinx-build -W`` (warnings are errors)."""
    result = _sphinxBuild(DOCS_DIR, tmp_path / "html")
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout}\n{result.stderr}"


def test_config_table_has_one_row_per_key() -> None:
    """The config key table has a row per key: path, type, JSON default, services, text."""
    table = configKeysExt.configKeysTable(_keys())
    assert _rowTexts(table) == [
        [
            "logging.level",
            "string",
            '"INFO"',
            "all",
            "How much to log. Allowed: one of DEBUG, INFO (any case).",
        ],
        [
            "sqlalchemy.connectUrl",
            "string",
            '""',
            "logic, worker",
            "Database URL. Secret: masked wherever the configuration is shown.",
        ],
        ["plugin.enabled", "list of strings", "[]", "field", "Plugins to load."],
    ]


def test_config_keys_source_errors_name_the_problem() -> None:
    """A source that is malformed, missing or not a sequence is an error saying which."""
    with pytest.raises(configKeysExt.ConfigKeysSourceError, match=r"package\.module:ATTRIBUTE"):
        configKeysExt.loadConfigKeys("no_colon_here")
    with pytest.raises(configKeysExt.ConfigKeysSourceError, match="cannot import"):
        configKeysExt.loadConfigKeys("peek_no_such_module_anywhere:KEYS")
    with pytest.raises(configKeysExt.ConfigKeysSourceError, match="has no attribute"):
        configKeysExt.loadConfigKeys("peek_platform.config.keys:NO_SUCH_NAME")
    with pytest.raises(configKeysExt.ConfigKeysSourceError, match="expected a sequence"):
        configKeysExt.loadConfigKeys("peek_platform.services:HOME_ROOT_ENV")


def test_config_keys_source_default_is_the_platform_table() -> None:
    """By default the directive documents ``peek_platform.config.keys.CONFIG_KEYS``."""
    from peek_platform.config.keys import CONFIG_KEYS

    assert configKeysExt.loadConfigKeys(configKeysExt.DEFAULT_SOURCE) is CONFIG_KEYS


def test_command_help_is_the_real_help_of_a_console_script() -> None:
    """The help of an installed console script is exactly what the script prints."""
    direct = subprocess.run(
        [shutil.which("sphinx-build") or "sphinx-build", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": commandHelpExt.HELP_COLUMNS},
        check=True,
    )
    assert commandHelpExt.commandHelpText("sphinx-build") == direct.stdout.strip("\n")


def test_batched_help_is_each_commands_own_help(tmp_path: Path) -> None:
    """The help of console scripts run together in one interpreter is exactly each one's
    help run alone; a failing command and a program that is no console script are left
    to the directive's single run."""
    commands = ["peek plugin disable", "run_peek_platform", "peek no-such-command", "ls"]
    texts = commandHelpExt.consoleScriptHelpTexts(commands)
    assert sorted(texts) == ["peek plugin disable", "run_peek_platform"]
    for command in texts:
        assert texts[command] == commandHelpExt.commandHelpText(command)
    (tmp_path / "page.rst").write_text(".. command-help:: peek  status\n\ntext\n")
    assert commandHelpExt.documentedCommands(tmp_path) == ["peek status"]


def test_command_help_runs_subcommands(pathWithFakePeek: Path) -> None:
    """``fakepeek config check`` shows the help of that subcommand, found on PATH."""
    text = commandHelpExt.commandHelpText("fakepeek config check")
    assert text.startswith("usage: fakepeek config check [-h] service")
    assert "Check the fake configuration." in text
    assert "the service whose config to check" in text


def test_command_help_fails_for_a_missing_command() -> None:
    """A command that is not installed is an error naming it, never an empty section."""
    with pytest.raises(commandHelpExt.CommandHelpError, match="'peek_no_such_command' not found"):
        commandHelpExt.commandHelpText("peek_no_such_command --flag")


def test_command_help_fails_when_the_command_fails(tmp_path: Path, monkeypatch) -> None:
    """A command whose ``--help`` exits non-zero is an error carrying its status and stderr."""
    binDir = tmp_path / "bin"
    _writeScript(binDir, "brokencmd", "import sys\nsys.exit('No module named peek_x.main')\n")
    monkeypatch.setenv("PATH", f"{binDir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(commandHelpExt.CommandHelpError) as raised:
        commandHelpExt.commandHelpText("brokencmd")
    assert "exited with status 1" in str(raised.value)
    assert "No module named peek_x.main" in str(raised.value)


def test_command_help_hides_the_builders_home(tmp_path: Path, monkeypatch) -> None:
    """The command sees HOME=/home/peek and no PEEK_HOME_ROOT, not the builder's home."""
    binDir = tmp_path / "bin"
    body = "import os\nprint(os.path.expanduser('~/x.home'), os.environ.get('PEEK_HOME_ROOT'))\n"
    _writeScript(binDir, "homecmd", body)
    monkeypatch.setenv("PATH", f"{binDir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PEEK_HOME_ROOT", str(tmp_path))
    assert commandHelpExt.commandHelpText("homecmd") == "/home/peek/x.home None"


def _miniProject(tmp_path: Path, index: str) -> Path:
    """A Sphinx project using the local extensions, with a fake config key module."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "fake_keys.py").write_text(
        textwrap.dedent(
            """\
            from peek_platform.config.keys import ConfigKey
            KEYS = [
                ConfigKey(path="alpha.one", type=int, default=1, description="First.",
                          services=frozenset({"logic"})),
                ConfigKey(path="beta.two", type=bool, default=True, description="Second.",
                          services=frozenset({"agent"})),
            ]
            """
        ),
        encoding="utf-8",
    )
    (source / "conf.py").write_text(
        textwrap.dedent(
            f"""\
            import sys
            sys.path[:0] = [{str(EXT_DIR)!r}, {str(source)!r}]
            extensions = ["peek_config_keys", "peek_command_help"]
            peek_config_keys_source = "fake_keys:KEYS"
            """
        ),
        encoding="utf-8",
    )
    (source / "index.rst").write_text(index, encoding="utf-8")
    return source


def test_directives_render_in_a_sphinx_build(tmp_path: Path, pathWithFakePeek: Path) -> None:
    """In a real build the key table has one row per key and command-help shows the help."""
    index = "Test\n====\n\n.. peek-config-keys::\n\n.. command-help:: fakepeek config check\n"
    source = _miniProject(tmp_path, index)
    result = _sphinxBuild(source, tmp_path / "out", env=dict(os.environ))
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert page.count("<tr") == 3  # the header row and one row per key
    assert 'id="config-alpha-one"' in page and 'id="config-beta-two"' in page
    assert "Check the fake configuration." in page


def test_missing_command_fails_the_build(tmp_path: Path) -> None:
    """A ``command-help`` of a command that does not exist fails the build, naming it."""
    source = _miniProject(tmp_path, "Test\n====\n\n.. command-help:: peek_no_such_command\n")
    result = _sphinxBuild(source, tmp_path / "out")
    assert result.returncode != 0
    assert "peek_no_such_command" in result.stderr


def test_package_modules_lists_every_module(tmp_path: Path, monkeypatch) -> None:
    """Every module of a package, recursively, is listed after the package itself."""
    package = tmp_path / "docs_walk_pkg"
    (package / "sub").mkdir(parents=True)
    for relPath in ("__init__.py", "Alpha.py", "sub/__init__.py", "sub/Beta.py"):
        (package / relPath).write_text('"""Doc."""\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert packageModulesExt.packageModuleNames("docs_walk_pkg") == [
        "docs_walk_pkg",
        "docs_walk_pkg.Alpha",
        "docs_walk_pkg.sub",
        "docs_walk_pkg.sub.Beta",
    ]


def test_package_modules_fails_on_a_broken_subpackage(tmp_path: Path, monkeypatch) -> None:
    """A subpackage that cannot be imported is an error naming it, not a silent gap."""
    package = tmp_path / "docs_broken_pkg"
    (package / "bad").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "bad" / "__init__.py").write_text("import docs_missing_dep\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(packageModulesExt.PackageWalkError, match=r"docs_broken_pkg\.bad"):
        packageModulesExt.packageModuleNames("docs_broken_pkg")


def test_project_tree_draws_directories_first_without_build_output(tmp_path: Path) -> None:
    """The tree lists directories before files and leaves out caches and build output."""
    root = tmp_path / "proj"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "proj.egg-info").mkdir()
    (root / ".git").mkdir()
    for relPath in ("setup.py", ".gitignore", "pkg/__init__.py", "pkg/__pycache__/x.pyc"):
        (root / relPath).write_text("", encoding="utf-8")
    assert projectTreeExt.treeLines(root) == [
        "proj/",
        "├── pkg/",
        "│   └── __init__.py",
        "├── .gitignore",
        "└── setup.py",
    ]


@pytest.mark.parametrize("readme", ["README.rst", "bench/README.rst"])
def test_readmes_outside_sphinx_parse_cleanly(readme: str) -> None:
    """READMEs that Sphinx does not build still parse as reStructuredText with no warning
    (a short title underline or a malformed table shows up here, not only on a web page)."""
    result = subprocess.run(
        [sys.executable, "-m", "docutils", "--halt=warning", str(REPO_ROOT / readme), os.devnull],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
