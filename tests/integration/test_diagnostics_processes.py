"""``peek diagnostics`` against real logic and field processes whose configs hold known
secrets: the zip has every file of both services and none of the secrets."""

from __future__ import annotations

import json
import stat
import subprocess
import zipfile

import pytest

from peek_platform.diagnostics import SERVICE_FILES
from peek_platform.services import FIELD, LOGIC
from peek_platform.testing.ServiceProcess import consoleScript

pytestmark = pytest.mark.integration

RECOVERY_PASSWORD = "itest-recovery-password-5150"
LDAP_BIND_PASSWORD = "itest-ldap-bind-password-5150"
URL_PASSWORD = "itest-url-password-5150"
API_TOKEN = "itest-api-token-5150"


@pytest.fixture(scope="module")
def platform(tmp_path_factory, testPlugins, moduleProcesses, refusedPort):
    """Logic and field linked, running a test plugin, with secrets of every kind in their
    configs (settings go to both, so field holds logic's keys as unknown keys too)."""
    root = tmp_path_factory.mktemp("diagnostics-root")
    settings = {
        "admin.recoveryPassword": RECOVERY_PASSWORD,
        "ldap.directories": [
            {
                "name": "corp",
                "url": f"ldap://127.0.0.1:{refusedPort}",
                "mode": "search",
                "bindDn": "cn=peek,dc=example,dc=com",
                "bindPassword": LDAP_BIND_PASSWORD,
                "userSearchBase": "dc=example,dc=com",
                "userSearchFilter": "(uid={user})",
            }
        ],
        "support.upstreamUrl": f"https://support:{URL_PASSWORD}@support.example.invalid/in",
        "support.apiToken": API_TOKEN,
    }
    linked = moduleProcesses.linkedServices(
        root,
        [LOGIC, FIELD],
        plugins=[testPlugins.first],
        pluginsDir=testPlugins.directory,
        settings=settings,
    )
    for spec in (LOGIC, FIELD):
        linked.commands[spec.key].waitForLine(rf"{spec.vortexName} started: ")
    linked.commands[LOGIC.key].waitForLine(rf"data exchange link up with {FIELD.vortexName}")
    return linked


def peek(platform, *args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run ``peek ARGS --home <logic home> --url <logic's exchange>``."""
    url = f"ws://127.0.0.1:{platform.dataExchangePort}/vortexws"
    argv = [consoleScript("peek"), *args, "--home", str(platform.homes[LOGIC.key]), "--url", url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, cwd=cwd)


def test_the_zip_has_both_services_and_no_secret(platform, tmp_path, sharedSecret, testPlugins):
    """Every file of logic's and field's folders, summary.json naming both, mode 0600, and
    not one byte sequence of a known secret in any entry."""
    out = tmp_path / "diagnostics.zip"

    result = peek(platform, "diagnostics", "--out", str(out))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {out} (" in result.stdout
    assert "logic (" in result.stdout and "field (" in result.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        summary = json.loads(archive.read("summary.json"))
        assert summary["failed"] == []
        folders = {a["service"]: a["folder"] for a in summary["answered"]}
        assert set(folders) == {"logic", "field"}
        for folder in folders.values():
            assert {f"{folder}/{name}" for name in SERVICE_FILES} <= names
        secrets = (sharedSecret, RECOVERY_PASSWORD, LDAP_BIND_PASSWORD, URL_PASSWORD, API_TOKEN)
        for name in names:
            data = archive.read(name)
            for secret in secrets:
                assert secret.encode() not in data, f"{secret!r} is in {name}"

        logic = folders["logic"]
        config = json.loads(archive.read(f"{logic}/config.json"))
        assert config["dataExchange"]["secret"] == "***"
        assert config["ldap"]["directories"][0]["bindPassword"] == "***"
        assert config["support"]["upstreamUrl"] == (
            "https://support:***@support.example.invalid/in"
        )
        plugins = json.loads(archive.read(f"{folders['field']}/plugins.json"))
        assert [(p["name"], p["state"]) for p in plugins] == [(testPlugins.first, "started")]
        links = json.loads(archive.read(f"{folders['field']}/links.json"))
        assert [link["name"] for link in links] == [LOGIC.vortexName]
        logicLinks = {link["name"] for link in json.loads(archive.read(f"{logic}/links.json"))}
        assert FIELD.vortexName in logicLinks
        assert "MainThread" in archive.read(f"{logic}/threads.txt").decode()
        assert b"started" in archive.read(f"{logic}/log.txt")
        for folder in (logic, folders["field"]):
            metrics = archive.read(f"{folder}/metrics.txt").decode()
            assert "# TYPE peek_vortex_links gauge" in metrics
            assert 'peek_plugin_state{plugin="' in metrics


def test_default_name_in_the_current_directory_and_one_service(platform, tmp_path):
    """Without --out the zip is peek-diagnostics-<UTC timestamp>.zip here; --service field
    collects from field only."""
    result = peek(platform, "diagnostics", "--service", "field", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    written = list(tmp_path.glob("peek-diagnostics-*Z.zip"))
    assert len(written) == 1
    with zipfile.ZipFile(written[0]) as archive:
        summary = json.loads(archive.read("summary.json"))
    assert [a["service"] for a in summary["answered"]] == ["field"]
