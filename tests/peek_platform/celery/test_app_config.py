"""The platform Celery configuration: JSON only, late acks, limits, embedded transport."""

from __future__ import annotations

import sqlite3

import pytest

from peek_platform.celery.app_config import celeryConf, newCeleryApp, prepareLocalStores
from peek_platform.celery.embedded_broker import TRANSPORT_PATH, sqliteFileOf
from peek_platform.celery.settings import CelerySettings

REDIS = CelerySettings("redis://h:6379/0", "redis://h:6379/1", 3, 2, 60.0, 90.0)


def test_delivery_is_late_acked_and_requeued_when_the_worker_dies():
    """Tasks are acknowledged after running and rejected back to the queue on worker loss."""
    conf = celeryConf(REDIS)
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True


def test_only_json_is_accepted():
    """Tasks and results are serialised and accepted as JSON only (never pickle)."""
    conf = celeryConf(REDIS)
    assert (conf["task_serializer"], conf["result_serializer"]) == ("json", "json")
    assert conf["accept_content"] == conf["result_accept_content"] == ["json"]


def test_sizing_and_limits_come_from_settings():
    """Concurrency, prefetch, time limit and task modules are taken from the settings."""
    conf = celeryConf(REDIS, ["plugin.tasks"])
    assert (conf["worker_concurrency"], conf["worker_prefetch_multiplier"]) == (3, 2)
    assert conf["task_time_limit"] == 60.0
    assert conf["include"] == ["plugin.tasks"]


def test_redis_redelivery_waits_longer_than_a_task_may_run():
    """Redis only re-delivers an unacknowledged task after the longest it may be held."""
    visibility = celeryConf(REDIS)["broker_transport_options"]["visibility_timeout"]
    assert visibility > REDIS.taskTimeLimitSeconds * REDIS.prefetchMultiplier


def test_embedded_broker_uses_the_peek_transport(tmp_path):
    """A sqlite broker URL selects the embedded transport and turns off remote control."""
    settings = CelerySettings(f"sqlite:///{tmp_path}/b.sqlite", f"db+sqlite:///{tmp_path}/r.sqlite")
    conf = celeryConf(settings)
    assert conf["broker_transport"] == TRANSPORT_PATH
    assert conf["worker_enable_remote_control"] is False


def test_new_app_is_configured_and_separate():
    """newCeleryApp returns an app carrying the settings, not the platform app."""
    from peek_plugin_base.worker.CeleryApp import celeryApp

    app = newCeleryApp(REDIS)
    assert app is not celeryApp
    assert app.conf.broker_url == REDIS.brokerUrl


def test_prepare_local_stores_creates_wal_sqlite_files(tmp_path):
    """The embedded broker and result files are created in WAL journal mode."""
    settings = CelerySettings(
        f"sqlite:///{tmp_path}/c/b.sqlite", f"db+sqlite:///{tmp_path}/c/r.sqlite"
    )
    prepareLocalStores(settings)
    for url in (settings.brokerUrl, settings.resultUrl):
        connection = sqlite3.connect(sqliteFileOf(url))
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        connection.close()


def test_sqlite_file_of_rejects_other_urls():
    """A non-SQLite URL is refused with a message naming it."""
    with pytest.raises(ValueError, match="redis://h"):
        sqliteFileOf("redis://h:6379/0")
