"""The import graph between Certbank's layers, as the closing notes quote it.

    .venv/bin/python tools/import_graph.py          # summary
    .venv/bin/python tools/import_graph.py -v       # every offending import

Prints the module-level import cycles (strongly connected components, lazy
imports inside functions included) and every import that points against
the layer order of README.md "Architecture":

    core  <-  accounts  <-  banking | certificates  <-  flows  <-  web

A module's layer is read from its name by the rules in `layer_of` (the
import-linter contract in pyproject.toml enforces the same order; this
script only reports, so that it also runs on older commits whose modules
the contract does not name). Imports between banking and certificates are
reported too: they are independent siblings.
"""

import argparse
import ast
import collections
import pathlib
import sys

import grimp

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ["core", "audit", "accounts", "banking", "certificates", "flows", "bank"]
ORDER = "core <- accounts <- banking | certificates <- flows <- web"
RANK = {"core": 0, "accounts": 1, "banking": 2, "certificates": 2, "flows": 3, "web": 4}
# Entry points and wiring: views, forms, URLs, the staff console, commands.
WEB_PARTS = {"views", "admin", "urls", "forms", "decorators", "templatetags", "management", "web"}
IGNORED = {"bank.settings", "bank.settings_test", "bank.wsgi", "bank.asgi", "bank.env", "bank.devsecrets"}


def layer_of(module: str) -> str | None:
    """The layer of a module by its name, or None for settings and migrations."""
    parts = module.split(".")
    if module in IGNORED or "migrations" in parts:
        return None
    if parts[0] == "bank":
        return "web"
    if any(part in WEB_PARTS or part.endswith(("_views", "_urls")) for part in parts[1:]):
        return "web"
    if parts[0] in ("core", "audit"):
        return "core"
    return parts[0]


def strongly_connected(adjacency: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred modules)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for start in adjacency:
        if start in index:
            continue
        work = [(start, iter(adjacency[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adjacency[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
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
                result.append(sorted(component))
    return result


def lazy_imports(packages: list[str]) -> list[str]:
    """Imports of project modules inside a function body: the usual way to dodge a cycle."""
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    names = []
                    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        names = [node.module]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    for name in names:
                        if name.split(".")[0] in PACKAGES:
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every offending import")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    packages = [name for name in PACKAGES if (ROOT / name / "__init__.py").exists()]
    graph = grimp.build_graph(*packages)
    modules = sorted(m for m in graph.modules if layer_of(m) is not None)
    adjacency = {
        m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules and layer_of(i) is not None)
        for m in modules
    }

    cycles = [c for c in strongly_connected(adjacency) if len(c) > 1]
    print(f"module-level import cycles: {len(cycles)}")
    for cycle in cycles:
        print("   ", " <-> ".join(cycle))

    # The same at the level of the layers' packages (web modules left out: they
    # sit on top and may import any of them).
    def unit(module: str) -> str:
        return "core" if layer_of(module) == "core" else module.split(".")[0]

    units = collections.defaultdict(set)
    for importer, imported_list in adjacency.items():
        if layer_of(importer) == "web":
            continue
        units[unit(importer)]
        for imported in imported_list:
            if layer_of(imported) != "web" and unit(imported) != unit(importer):
                units[unit(importer)].add(unit(imported))
                units[unit(imported)]
    package_cycles = [c for c in strongly_connected({k: sorted(v) for k, v in units.items()}) if len(c) > 1]
    print(f"package-level cycles (web modules left out): {len(package_cycles)}")
    for cycle in package_cycles:
        print("   ", " <-> ".join(cycle))

    against = collections.defaultdict(list)
    siblings = collections.defaultdict(list)
    for importer, imported_list in adjacency.items():
        for imported in imported_list:
            low, high = layer_of(importer), layer_of(imported)
            if RANK[high] > RANK[low]:
                against[(low, high)].append((importer, imported))
            elif low != high and RANK[high] == RANK[low]:
                siblings[(low, high)].append((importer, imported))
    total = sum(len(v) for v in against.values())
    print(f"imports against the layer order ({ORDER}): {total}")
    for (low, high), imports in sorted(against.items()):
        print(f"    {low} -> {high}: {len(imports)}")
        if args.verbose:
            for importer, imported in sorted(imports):
                print(f"        {importer} -> {imported}")
    print(f"imports between independent siblings (banking | certificates): {sum(len(v) for v in siblings.values())}")
    for (low, high), imports in sorted(siblings.items()):
        print(f"    {low} -> {high}: {len(imports)}")
        if args.verbose:
            for importer, imported in sorted(imports):
                print(f"        {importer} -> {imported}")
    lazy = lazy_imports(packages)
    print(f"project imports inside functions: {len(lazy)}")
    if args.verbose:
        for line in lazy:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
