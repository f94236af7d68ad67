"""The import-linter contracts of pyproject.toml, generated from `layer_of`.

    .venv/bin/python tools/layers_contract.py            # print the TOML
    .venv/bin/python tools/layers_contract.py --write    # rewrite it in pyproject.toml
    .venv/bin/python tools/layers_contract.py --check    # exit 1 if pyproject.toml is stale

The layer order is README.md "Architecture":

    core  <-  accounts  <-  banking | certificates  <-  flows  <-  web

and `layer_of` in tools/import_graph.py says which module is in which layer
(a view, form, URL conf or command is "web" whatever its package). A layers
contract cannot say that: one of its layers may not contain another
(`accounts` and `accounts.views`), and `containers` only repeats one order
inside each package (so `exhaustive`, which needs them, is out too). So the
contract lists the modules of each layer explicitly: every module whose whole
subtree is in one layer is listed once (`core.models`, `banking.services`,
`certificates.views`), the packages that mix layers (`accounts`, `bank`,
migrations or settings beside web modules, ...) are split into their children.
Those packages' own `__init__` modules cannot be listed; the check below
requires them to import no project module, so that nothing escapes.

A layer of several modules is written `a : b : c` (non-independent: they may
import each other). banking and certificates share the third layer in that
form, so two forbidden contracts keep them apart (`|` would also forbid
banking.models -> banking.services). Those two look at direct imports only:
an indirect chain from one sibling to the other has to go up a layer on the
way, which the layers contract reports.

Migrations, tests and the settings modules (`IGNORED` in import_graph.py) are
in no layer. The block between the BEGIN and END lines in pyproject.toml is
this script's output: edit this script, not the block.
"""

import argparse
import ast
import difflib
import importlib.util
import pathlib
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)
layer_of = import_graph.layer_of

ROOT_PACKAGES = sorted(import_graph.PACKAGES)
# Contract layers, highest first; each is a set of `layer_of` values.
LAYERS = [
    ("web", {"web"}),
    ("flows", {"flows"}),
    ("banking : certificates", {"banking", "certificates"}),
    ("accounts", {"accounts"}),
    ("core (core, audit)", {"core"}),
]
SIBLINGS = ("banking", "certificates")
# Imports the contracts let through, as import-linter's "importer -> imported" expressions.
# Each one wants a comment saying why; keep the list short.
IGNORE_IMPORTS: list[str] = []

BEGIN = "# BEGIN tools/layers_contract.py: generated from layer_of() in tools/import_graph.py."
HOWTO = "# Do not edit by hand: .venv/bin/python tools/layers_contract.py --write"
END = "# END tools/layers_contract.py"


def is_test(module: str) -> bool:
    parts = module.split(".")
    return any(part in ("tests", "tests.py", "conftest") or part.startswith("test_") for part in parts)


def project_modules(*, everything: bool = False) -> dict[str, pathlib.Path]:
    """Dotted name -> file of each module of the root packages (as grimp sees them: only
    directories with an __init__.py). Migrations and tests are left out unless `everything`."""
    modules = {}
    for package in ROOT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "__pycache__" in relative.parts:
                continue
            if not all(
                (ROOT / pathlib.Path(*relative.parts[:i]) / "__init__.py").exists() for i in range(1, len(relative.parts))
            ):
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            if not everything and ("migrations" in parts or is_test(name)):
                continue
            modules[name] = path
    return modules


def layer(module: str) -> str | None:
    return None if is_test(module) else layer_of(module)


def cover() -> tuple[dict[str, list[str]], list[str]]:
    """({layer: the modules the contract lists for it}, [packages that span layers and have a layer
    themselves: their __init__ cannot be listed])."""
    modules = project_modules(everything=True)
    entries: dict[str, list[str]] = {name: [] for _, names in LAYERS for name in names}
    unlisted: list[str] = []

    def subtree(module: str) -> list[str]:
        return [m for m in modules if m == module or m.startswith(module + ".")]

    def visit(module: str) -> None:
        layers = {layer(m) for m in subtree(module)}
        if len(layers) == 1 and None not in layers:
            entries[layers.pop()].append(module)
            return
        if layer(module) is not None:
            unlisted.append(module)
        for child in sorted(m for m in modules if m.rpartition(".")[0] == module):
            visit(child)

    for package in ROOT_PACKAGES:
        if package in modules:
            visit(package)
    return {name: sorted(values) for name, values in entries.items()}, sorted(unlisted)


def _toml_list(items: list[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f'{indent}"{item}",\n' for item in items) + "]"


def _layer_string(modules: list[str]) -> str:
    body = " :\n".join(f"    {m}" for m in modules)
    return f'    """\n{body}\n    """,\n'


def render() -> str:
    entries, unlisted = cover()
    out = [BEGIN, HOWTO, "[tool.importlinter]", f"root_packages = {_toml_list(ROOT_PACKAGES)}", ""]
    out += [
        "[[tool.importlinter.contracts]]",
        'id = "layers"',
        f'name = "Layers: {import_graph.ORDER}"',
        'type = "layers"',
    ]
    if IGNORE_IMPORTS:
        out.append(f"ignore_imports = {_toml_list(IGNORE_IMPORTS)}")
    if unlisted:
        out.append(
            f"# Not listed (they span layers; tools/layers_contract.py --check keeps them import-free): {', '.join(unlisted)}"
        )
    out.append("layers = [")
    for title, names in LAYERS:
        modules = sorted(m for name in names for m in entries[name])
        out.append(f"    # {title}")
        out.append(_layer_string(modules).rstrip("\n"))
    out.append("]")
    for source, forbidden in (SIBLINGS, SIBLINGS[::-1]):
        out += [
            "",
            "[[tool.importlinter.contracts]]",
            f'id = "{source}-not-{forbidden}"',
            f'name = "{source} and {forbidden} are independent: {source} does not import {forbidden}"',
            'type = "forbidden"',
            f"source_modules = {_toml_list(entries[source])}",
            f"forbidden_modules = {_toml_list(entries[forbidden])}",
            # A longer chain from one to the other breaks the layers contract too: report it there only.
            "allow_indirect_imports = true",
        ]
        if IGNORE_IMPORTS:
            out.append(f"ignore_imports = {_toml_list(IGNORE_IMPORTS)}")
    out.append(END)
    return "\n".join(out) + "\n"


def _split(text: str) -> tuple[str, str | None, str]:
    """pyproject.toml as (before, the generated block or None, after)."""
    start = text.find(BEGIN)
    if start == -1:
        return text, None, ""
    stop = text.find(END, start)
    if stop == -1:
        raise SystemExit(f"{PYPROJECT.name}: {BEGIN!r} without {END!r}")
    stop = text.find("\n", stop) + 1 or len(text)
    return text[:start], text[start:stop], text[stop:]


def write(path: pathlib.Path = PYPROJECT) -> bool:
    """Rewrite (or append) the generated block; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    before, block, after = _split(text)
    if block is None:
        if "[tool.importlinter" in text:
            raise SystemExit(f"{path.name} has an [tool.importlinter] section this script did not write: remove it first")
        new = text.rstrip("\n") + "\n\n" + render()
    else:
        new = before + render() + after
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def _project_imports(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
            for name in names
            if name.startswith(".") or name.split(".")[0] in ROOT_PACKAGES
        ]
    return found


def check(path: pathlib.Path = PYPROJECT) -> list[str]:
    """What is wrong with the contracts in pyproject.toml; empty if nothing."""
    problems = []
    text = path.read_text(encoding="utf-8")
    _, block, _ = _split(text)
    expected = render()
    if block is None:
        return [f"{path.name} has no block generated by tools/layers_contract.py: run it with --write"]
    if block != expected:
        diff = difflib.unified_diff(
            block.splitlines(), expected.splitlines(), f"{path.name} (now)", "tools/layers_contract.py", lineterm="", n=1
        )
        problems.append(f"{path.name} is out of date: run .venv/bin/python tools/layers_contract.py --write\n" + "\n".join(diff))

    # Independent of the text: every module with a layer is covered, by one entry, in its layer.
    config = tomllib.loads(text).get("tool", {}).get("importlinter", {})
    layers_contract = next((c for c in config.get("contracts", []) if c.get("type") == "layers"), None)
    if layers_contract is None:
        return problems + [f"{path.name}: no layers contract in [tool.importlinter]"]
    listed = {}
    for index, raw in enumerate(layers_contract["layers"]):
        for item in raw.replace("|", ":").split(":"):
            listed[item.strip().strip("()")] = index
    _, unlisted = cover()
    modules = project_modules()
    for module, file in modules.items():
        wanted = layer(module)
        if wanted is None:
            continue
        covering = [entry for entry in listed if module == entry or module.startswith(entry + ".")]
        if module in unlisted:
            problems += [
                f"{imp}, but {module} spans layers, is in no layer and must import no project module"
                for imp in _project_imports(file)
            ]
        elif not covering:
            problems.append(f"{module} ({wanted}) is in no layer of the contract")
        else:
            index = listed[covering[0]]
            if wanted not in LAYERS[index][1]:
                problems.append(f"{module} is {wanted} but listed ({covering[0]}) in layer {LAYERS[index][0]}")
    for entry in listed:
        if entry not in modules:
            problems.append(f"the contract lists {entry}, which is no project module")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the block in pyproject.toml")
    group.add_argument("--check", action="store_true", help="exit 1 if pyproject.toml is out of date")
    args = parser.parse_args()
    if args.write:
        changed = write()
        print(f"{PYPROJECT.name}: {'rewritten' if changed else 'up to date'}")
        return 0
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
