"""planWorkerTasks: the task modules of the plugins enabled for the worker service."""

from __future__ import annotations

from peek_worker_service.task_modules import planWorkerTasks


def test_enabled_worker_plugins_contribute_their_modules_in_load_order(writePlugin):
    """Modules come from worker plugins, dependencies first; others are skipped silently."""
    writePlugin("peek_plugin_wsu_b", ["b.tasks"], requires=("peek_plugin_wsu_a",))
    writePlugin("peek_plugin_wsu_a", ["a.tasks", "a.more"])
    writePlugin("peek_plugin_wsu_logic", ["never"], services=("logic",))
    plan = planWorkerTasks(["peek_plugin_wsu_b", "peek_plugin_wsu_logic", "peek_plugin_wsu_a"])
    assert plan.plugins == ["peek_plugin_wsu_a", "peek_plugin_wsu_b"]
    assert plan.modules == ["a.tasks", "a.more", "b.tasks"]
    assert plan.problems == {}


def test_missing_plugin_is_reported_and_others_still_run(writePlugin):
    """A plugin that cannot be found is a named problem; the rest keep their tasks."""
    writePlugin("peek_plugin_wsu_ok", ["ok.tasks"])
    plan = planWorkerTasks(["peek_plugin_wsu_missing", "peek_plugin_wsu_ok"])
    assert plan.modules == ["ok.tasks"]
    assert "peek_plugin_wsu_missing" in plan.problems["peek_plugin_wsu_missing"]


def test_bad_includes_and_dependents_of_failed_plugins_contribute_nothing(writePlugin):
    """Non-list includes fail the plugin, and a plugin requiring it is left out too."""
    writePlugin("peek_plugin_wsu_bad", "not-a-list")
    writePlugin("peek_plugin_wsu_dep", ["dep.tasks"], requires=("peek_plugin_wsu_bad",))
    plan = planWorkerTasks(["peek_plugin_wsu_bad", "peek_plugin_wsu_dep"])
    assert plan.modules == []
    assert "celeryAppIncludes" in plan.problems["peek_plugin_wsu_bad"]
    assert "peek_plugin_wsu_bad" in plan.problems["peek_plugin_wsu_dep"]
