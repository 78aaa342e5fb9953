"""The import picture of the project and the check that it keeps to its layers.

Run ``python -m ground.layers`` (exit 1 on an import against the layers or an import
circle) or ``python -m ground.layers --picture`` for every arrow, circle and upward import.

The house, bottom to top:

* ``ground``: money, the clock, the UTC column type, the label vocabularies, ports and
  defaults. It imports nothing of ours, so anything may import it.
* the floors: ``igaming`` (the reference platform), ``collectors``, ``reconcilers``,
  ``alert_rules``, ``dashboards``. Each may import ground, and only the few arrows between
  them listed in ``ALLOWED`` (the metric catalog, ``collectors.catalog``, is the contract
  the others read).
* ``pitwatch`` (the CLI, settings and stack), imported by nothing of ours but the entry
  points (``benchmarks``, ``tests``), which may import anything.

Only imports that run are counted: an import under ``if TYPE_CHECKING:`` is for the type
checker and draws no arrow. Imports inside a function count as arrows (they run, later);
they are kept out of the circles, which are between modules importing each other as they
load, and listed on their own when they run against the layers.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

# Folder of each top-level package, relative to the repository root.
ROOTS: dict[str, str] = {
    "ground": "ground",
    "igaming": "platform/igaming",
    "collectors": "collectors",
    "reconcilers": "reconcilers",
    "alert_rules": "alert_rules",
    "dashboards": "dashboards",
    "pitwatch": "pitwatch",
}
# Entry points: they may import anything and nothing imports them.
ENTRY_POINTS: dict[str, str] = {"benchmarks": "benchmarks", "tests": "tests"}

LEVEL: dict[str, int] = {
    "ground": 0,
    "igaming": 1,
    "collectors": 1,
    "reconcilers": 1,
    "alert_rules": 1,
    "dashboards": 1,
    "pitwatch": 2,
}

# Arrows allowed between packages of the same floor, as (importer prefix, imported
# prefix): a module whose name starts with the first may import one starting with the
# second. Everything else on a floor stays out of its neighbours.
ALLOWED: tuple[tuple[str, str], ...] = (
    # The metric catalog is the contract: what is measured, under which labels.
    ("alert_rules", "collectors.catalog"),
    ("dashboards", "collectors.catalog"),
    ("reconcilers", "collectors.catalog"),
    # The reconciliation metrics are read on each scrape, like the state collectors.
    ("reconcilers.metrics", "collectors.state.base"),
    # Boards show the alerts that fire on them.
    ("dashboards", "alert_rules"),
    # The platform's own instrumentation subscribes to the platform's domain events; the
    # platform itself knows nothing of it (pitwatch wires the two together).
    ("collectors.instrumentation", "igaming"),
)


@dataclass(frozen=True)
class Import:
    """One import of one of our modules by another."""

    importer: str
    imported: str
    path: str
    line: int
    in_function: bool


def top(module: str) -> str:
    return module.split(".", 1)[0]


def module_files(root: Path, folders: dict[str, str]) -> dict[str, Path]:
    """Every module of the given packages, by dotted name."""
    modules: dict[str, Path] = {}
    for package, folder in folders.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    body: Iterable[ast.stmt], in_function: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement that runs, with whether it sits inside a function."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.orelse, in_function)
        else:
            nested = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _import_nodes([child], nested)
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    yield from _import_nodes(child.body, nested)


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` is or lies in (an attribute of)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: dict[str, Path]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if (target := _resolve(alias.name, known)) is not None:
                yield target
        return
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = ".".join(p for p in (package, node.module) if p)
    else:
        base = node.module or ""
    for alias in node.names:
        if (target := _resolve(f"{base}.{alias.name}", known)) is not None:
            yield target


def imports(root: Path) -> list[Import]:
    """Every import of one of our modules, from our packages and the entry points."""
    ours = module_files(root, ROOTS)
    found: dict[Import, None] = {}  # one per statement and module it imports, in order
    for module, path in {**ours, **module_files(root, ENTRY_POINTS)}.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        relative = str(path.relative_to(root))
        for node, in_function in _import_nodes(tree.body):
            for target in _targets(node, module, is_package, ours):
                if target != module:
                    found[Import(module, target, relative, node.lineno, in_function)] = None
    return list(found)


def allowed(imp: Import) -> bool:
    """Whether an import keeps to the layers."""
    source, target = top(imp.importer), top(imp.imported)
    if source in ENTRY_POINTS or source == target:
        return True
    if LEVEL[target] != LEVEL[source]:
        return LEVEL[target] < LEVEL[source]
    return any(
        _within(imp.importer, importer) and _within(imp.imported, imported)
        for importer, imported in ALLOWED
    )


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def circles(found: Iterable[Import]) -> list[list[str]]:
    """Modules importing each other as they load: the strongly connected components."""
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in found:
        if not imp.in_function:
            graph[imp.importer].add(imp.imported)
    # Tarjan's algorithm, iterative so that a deep chain cannot hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def arrows(found: Iterable[Import]) -> Counter[tuple[str, str]]:
    """Imports between different top-level packages, counted by (importer, imported)."""
    return Counter(
        (top(i.importer), top(i.imported)) for i in found if top(i.importer) != top(i.imported)
    )


def report(root: Path, picture: bool) -> int:
    """Print the check (and with ``picture`` the whole import picture); 0 when it passes."""
    found = imports(root)
    ours = [i for i in found if top(i.importer) not in ENTRY_POINTS]
    against = [i for i in ours if not allowed(i)]
    found_circles = circles(ours)
    package_arrows = arrows(ours)
    against_pairs = {(top(i.importer), top(i.imported)) for i in against}
    if picture:
        print("arrows between packages (imports):")
        for (source, target), count in sorted(package_arrows.items()):
            mark = "  AGAINST THE LAYERS" if (source, target) in against_pairs else ""
            print(f"  {source} -> {target}: {count}{mark}")
        print("entry points:")
        for (source, target), count in sorted(arrows(found).items()):
            if source in ENTRY_POINTS:
                print(f"  {source} -> {target}: {count}")
    for title, selected in (
        ("imports against the layers, at module level:", [i for i in against if not i.in_function]),
        ("imports against the layers, inside functions:", [i for i in against if i.in_function]),
    ):
        if selected:
            print(title)
            for imp in selected:
                print(f"  {imp.path}:{imp.line}  {imp.importer} -> {imp.imported}")
    for number, circle in enumerate(found_circles, 1):
        print(f"import circle {number} ({len(circle)} modules): {' '.join(circle)}")
    if picture:
        # Not a failure (a function's import runs once its module has loaded), but a
        # circle all the same when one reads the code.
        loose = [replace(i, in_function=False) for i in ours]
        for number, circle in enumerate(circles(loose), 1):
            print(
                f"circle {number} counting imports inside functions too"
                f" ({len(circle)} modules): {' '.join(circle)}"
            )
    pairs = {frozenset(pair) for pair in package_arrows}
    print(
        f"{len(package_arrows)} arrows between packages ({len(pairs)} pairs),"
        f" {len(against_pairs)} against the layers ({len(against)} imports,"
        f" {sum(i.in_function for i in against)} of them inside functions),"
        f" {len(found_circles)} import circles"
        f" ({sum(len(c) for c in found_circles)} modules)"
    )
    return 1 if against or found_circles else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ground.layers", description=__doc__)
    parser.add_argument("--picture", action="store_true", help="print every arrow as well")
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root"
    )
    args = parser.parse_args(argv)
    return report(args.root, args.picture)


if __name__ == "__main__":
    sys.exit(main())
