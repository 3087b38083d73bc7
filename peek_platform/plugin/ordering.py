"""Order enabled plugins so each one's ``requiresPlugins`` load first (docs/dev/loader.rst)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def orderPlugins(
    enabled: Sequence[str], requires: Mapping[str, Sequence[str]]
) -> tuple[list[str], dict[str, str]]:
    """Return ``(order, errors)``: a dependency-first order and the plugins that cannot load.

    The order is the enabled order, moved only as far as needed for every dependency to
    come before its dependents (a stable depth-first topological sort). ``errors`` maps a
    plugin to why it is left out: a dependency that is not enabled, a dependency cycle, or
    a dependency that is itself in ``errors``. Duplicate names in ``enabled`` count once.
    """
    names = list(dict.fromkeys(enabled))
    position = {name: index for index, name in enumerate(names)}
    order: list[str] = []
    errors: dict[str, str] = {}
    done: set[str] = set()
    stack: list[str] = []

    def visit(name: str) -> None:
        stack.append(name)
        deps = sorted(dict.fromkeys(requires.get(name, ())), key=lambda d: position.get(d, -1))
        for dep in deps:
            if dep not in position:
                errors.setdefault(name, f"plugin {name} requires {dep}, which is not enabled")
            elif dep in stack:
                cycle = [*stack[stack.index(dep) :], dep]
                reason = "dependency cycle: " + " -> ".join(cycle)
                for member in cycle:
                    errors.setdefault(member, reason)
            elif dep not in done:
                visit(dep)
            if dep in errors and name not in errors:
                errors[name] = f"requires {dep}, which failed"
        stack.pop()
        done.add(name)
        if name not in errors:
            order.append(name)

    for name in names:
        if name not in done:
            visit(name)
    return order, errors
