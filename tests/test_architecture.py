"""The layer order of README.md "Architecture", checked without a database.

    core  <-  accounts  <-  banking | certificates  <-  flows  <-  web

tools/import_graph.py `layer_of` says which module is in which layer,
tools/layers_contract.py writes the import-linter contracts of pyproject.toml
from it, and `lint-imports` (also in `make lint`) checks them.
"""

import ast
import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _load_layers_contract():
    spec = importlib.util.spec_from_file_location("layers_contract", ROOT / "tools" / "layers_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


layers_contract = _load_layers_contract()


def test_every_module_is_in_a_layer_of_the_contract():
    problems = layers_contract.check()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imported_module(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module `from X import ...` takes its names from."""
    if node.level == 0:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports() -> list[str]:
    """`from X import _name` where X is another project module, as "file:line ..."."""
    found = []
    for module, path in sorted(layers_contract.project_modules().items()):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _imported_module(module, path.name == "__init__.py", node)
            if source.split(".")[0] not in layers_contract.ROOT_PACKAGES or source == module:
                continue
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} ({module}) from {source} import {alias.name}")
    return found


def test_no_module_imports_a_private_name_of_another():
    found = private_imports()
    if found:
        pytest.fail(f"{len(found)} imports of another module's private names:\n" + "\n".join(found), pytrace=False)


def test_private_import_scan_resolves_relative_imports():
    def source(importer, is_package, code):
        return _imported_module(importer, is_package, ast.parse(code).body[0])

    assert source("certificates.views.copy", False, "from .common import _x") == "certificates.views.common"
    assert source("certificates.views.copy", False, "from ..services import _x") == "certificates.services"
    assert source("certificates.views", True, "from . import _x") == "certificates.views"
    assert source("certificates.views", True, "from .common import _x") == "certificates.views.common"
    assert _is_private("_helper") and _is_private("__mangled")
    assert not _is_private("__all__") and not _is_private("public")


def test_lint_imports_keeps_the_contracts():
    lint_imports = pathlib.Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.skip(f"{lint_imports} is not installed (requirements-dev.txt)")
    result = subprocess.run([str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(result.stdout + result.stderr, pytrace=False)


def _imports_of(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_pure_certificate_verification_touches_no_database():
    """certificates.verify answers; the database and the audit log are challenges' and login's."""
    imports = _imports_of(ROOT / "certificates" / "verify.py")
    touching = sorted(
        name
        for name in imports
        if name.startswith(("django.db", "audit", "accounts", "core.boundary")) or name.endswith(".models") or ".models." in name
    )
    assert touching == []


def test_no_lazy_project_imports_inside_functions():
    """An import inside a function that dodges a cycle is how the old accounts -> banking -> accounts cycle hid."""
    found = []
    packages = ("accounts", "audit", "bank", "banking", "certificates", "core", "flows")
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for inner in ast.walk(node):
                    module = inner.module if isinstance(inner, ast.ImportFrom) else None
                    if isinstance(inner, ast.Import):
                        module = inner.names[0].name
                    if module and module.split(".")[0] in packages:
                        found.append(f"{path.relative_to(ROOT)}:{inner.lineno} {module}")
    assert found == []
