"""Dependency-first ordering of the enabled plugins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peek_platform.plugin.ordering import orderPlugins


def test_enabled_order_is_kept_without_dependencies():
    """Without requiresPlugins the enabled order is the load order."""
    assert orderPlugins(["c", "a", "b"], {}) == (["c", "a", "b"], {})


def test_dependency_moves_before_its_dependent_only():
    """A dependency listed later moves just before its dependent; the rest keep order."""
    order, errors = orderPlugins(["x", "b", "y", "a"], {"b": ["a"]})
    assert (order, errors) == (["x", "a", "b", "y"], {})


def test_missing_dependency_is_an_error_naming_both():
    """A dependency that is not enabled is reported, and the dependent left out."""
    order, errors = orderPlugins(["b", "c"], {"b": ["a"]})
    assert order == ["c"]
    assert errors == {"b": "plugin b requires a, which is not enabled"}


def test_cycle_is_an_error_spelling_the_cycle():
    """A cycle fails each of its members with the path of the cycle."""
    order, errors = orderPlugins(["a", "b", "c"], {"a": ["b"], "b": ["a"]})
    assert order == ["c"]
    assert errors == {"a": "dependency cycle: a -> b -> a", "b": "dependency cycle: a -> b -> a"}


def test_dependents_of_errors_are_errors_too():
    """A plugin requiring one that cannot load is left out, saying which."""
    order, errors = orderPlugins(["a", "b", "c"], {"a": ["missing"], "b": ["a"]})
    assert order == ["c"]
    assert errors["b"] == "requires a, which failed"


def test_duplicates_in_enabled_count_once():
    """A name listed twice in plugin.enabled is loaded once, at its first place."""
    assert orderPlugins(["a", "b", "a"], {}) == (["a", "b"], {})


@st.composite
def acyclicGraphs(draw):
    """Enabled lists with requires edges only to earlier-created names (so acyclic)."""
    count = draw(st.integers(min_value=0, max_value=8))
    names = [f"p{i}" for i in range(count)]
    requires = {
        name: draw(st.lists(st.sampled_from(names[:i]), max_size=3)) if i else []
        for i, name in enumerate(names)
    }
    return draw(st.permutations(names)), requires


@given(acyclicGraphs())
def test_acyclic_graphs_order_every_dependency_first(graph):
    """For any acyclic graph, every plugin is ordered once and after all it requires."""
    enabled, requires = graph
    order, errors = orderPlugins(enabled, requires)
    assert errors == {}
    assert sorted(order) == sorted(enabled)
    for name in order:
        assert all(order.index(dep) < order.index(name) for dep in requires[name])
