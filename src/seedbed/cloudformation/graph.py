"""The dependency graph between resources: who must exist before whom.

Edges come from ``Ref``, ``Fn::GetAtt``, the names inside ``Fn::Sub`` and ``DependsOn``. Only the
branch of ``Fn::If`` that the stack's conditions select counts, as on AWS. Independent resources
may be created concurrently; deletion walks the graph backwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seedbed.cloudformation.errors import TemplateError
from seedbed.cloudformation.intrinsics import sub_references


def references(node: Any, names: set[str], condition: Callable[[str], bool] | None = None) -> set[str]:
    """Resource names that ``node`` refers to."""
    found: set[str] = set()
    _walk(node, names, condition, found)
    return found


def _walk(node: Any, names: set[str], condition: Callable[[str], bool] | None, found: set[str]) -> None:
    if isinstance(node, dict):
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref" and isinstance(arg, str):
                if arg in names:
                    found.add(arg)
                return
            if key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else (arg[0] if isinstance(arg, list) and arg else None)
                if isinstance(target, str) and target in names:
                    found.add(target)
                if isinstance(arg, list) and len(arg) > 1:
                    _walk(arg[1], names, condition, found)
                return
            if key == "Fn::Sub":
                found.update(n for n in sub_references(arg) if n in names)
                if isinstance(arg, list) and len(arg) > 1:
                    _walk(arg[1], names, condition, found)
                return
            if key == "Fn::If" and condition is not None and isinstance(arg, list) and len(arg) == 3:
                _walk(arg[1] if condition(str(arg[0])) else arg[2], names, condition, found)
                return
        for value in node.values():
            _walk(value, names, condition, found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, names, condition, found)


def depends_on(resource: dict[str, Any]) -> list[str]:
    value = resource.get("DependsOn") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def build(
    resources: dict[str, dict[str, Any]],
    condition: Callable[[str], bool] | None = None,
) -> dict[str, set[str]]:
    """logical id -> the logical ids it depends on (only among ``resources``)."""
    names = set(resources)
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        deps = references(resource.get("Properties") or {}, names, condition)
        for dep in depends_on(resource):
            if dep not in names:
                raise TemplateError(f"Unresolved resource dependencies [{dep}] in the Resources block of the template")
            deps.add(dep)
        graph[name] = deps
    order(graph)
    return graph


def order(graph: dict[str, set[str]]) -> list[str]:
    """A creation order; raises on a cycle, naming the resources in it as AWS does."""
    done: list[str] = []
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start) == 2:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if pending:
                nxt = pending.pop()
                mark = state.get(nxt)
                if mark == 1:
                    cycle = [n for n, _ in stack]
                    raise TemplateError(f"Circular dependency between resources: [{', '.join(sorted(cycle[cycle.index(nxt):]))}]")
                if mark is None:
                    state[nxt] = 1
                    stack.append((nxt, sorted(graph.get(nxt, ()))))
            else:
                stack.pop()
                state[node] = 2
                done.append(node)
    return done


def reverse(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """logical id -> the ids that depend on it (for deletion order)."""
    out: dict[str, set[str]] = {name: set() for name in graph}
    for name, deps in graph.items():
        for dep in deps:
            out.setdefault(dep, set()).add(name)
    return out
