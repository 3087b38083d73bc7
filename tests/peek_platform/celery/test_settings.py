"""Celery settings from config: embedded defaults resolved against the logic home."""

from __future__ import annotations

from pathlib import Path

from peek_platform.celery.settings import celerySettingsFromConfig, logicHomeFor
from peek_platform.config import loadServiceConfig
from peek_platform.services import LOGIC, WORKER


def test_logic_uses_its_own_home_and_worker_the_logic_home_beside_it(tmp_path):
    """Logic resolves the embedded store in its home; a worker in the sibling logic home."""
    assert logicHomeFor(LOGIC, tmp_path / "L") == tmp_path / "L"
    assert logicHomeFor(WORKER, tmp_path / "W") == tmp_path / LOGIC.homeDirName


def test_empty_urls_mean_the_embedded_store_shared_by_logic_and_worker(tmp_path):
    """With default config, logic and a worker on one host resolve the same SQLite files."""
    logicHome, workerHome = tmp_path / LOGIC.homeDirName, tmp_path / WORKER.homeDirName
    logic = celerySettingsFromConfig(loadServiceConfig(LOGIC, logicHome), LOGIC, logicHome)
    worker = celerySettingsFromConfig(loadServiceConfig(WORKER, workerHome), WORKER, workerHome)
    assert (logic.brokerUrl, logic.resultUrl) == (worker.brokerUrl, worker.resultUrl)
    assert logic.brokerUrl == f"sqlite:///{logicHome / 'celery' / 'broker.sqlite'}"
    assert logic.resultUrl == f"db+sqlite:///{logicHome / 'celery' / 'results.sqlite'}"
    assert logic.brokerIsEmbedded


def test_configured_values_are_used(tmp_path: Path):
    """Explicit URLs, concurrency, prefetch and limits come from config.json."""
    home = tmp_path / WORKER.homeDirName
    home.mkdir()
    (home / "config.json").write_text(
        '{"celery": {"brokerUrl": "redis://h:6379/0", "resultUrl": "redis://h:6379/1",'
        ' "workerConcurrency": 4, "prefetchMultiplier": 3, "taskTimeLimitSeconds": 5,'
        ' "resultTimeoutSeconds": 7}}'
    )
    settings = celerySettingsFromConfig(loadServiceConfig(WORKER, home), WORKER, home)
    assert settings.brokerUrl == "redis://h:6379/0"
    assert settings.resultUrl == "redis://h:6379/1"
    assert (settings.workerConcurrency, settings.prefetchMultiplier) == (4, 3)
    assert (settings.taskTimeLimitSeconds, settings.resultTimeoutSeconds) == (5.0, 7.0)
    assert not settings.brokerIsEmbedded
