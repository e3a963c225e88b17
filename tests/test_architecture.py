"""The package's structure as docs/architecture.md describes it: no import circle between
modules, every import from the same layer or a lower one, no private name imported from
another module unless that module exists to share it, and no module over 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "autoencoders"

#: Lowest first; a module may import its own layer and the ones before it (docs/architecture.md).
LAYERS = [
    {"_io", "config", "params", "callbacks", "loggers"},
    {"datasets"},
    {"inputs"},
    {"models", "losses", "corruption", "objective", "runtime"},
    {"training", "persistence", "neighbours"},
    {"estimator", "decoding", "mapping", "display", "export", "inference"},
    {"evaluation", "plotting", "palette", "report"},
    {"workflow"},
    {"cli", "__main__"},
]


def _modules() -> dict[str, Path]:
    """Dotted name (without "autoencoders.") → file, packages by their __init__.py."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path):
    """(imported module, imported names) for every import of the package in ``path``,
    wherever it sits (functions included)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("autoencoders"):
                target = node.module.removeprefix("autoencoders").lstrip(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                if sub in MODULES:  # "from . import objective": the module itself
                    yield sub, None
                else:
                    yield target, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("autoencoders."):
                    yield alias.name.removeprefix("autoencoders."), None


def _graph() -> dict[str, set[str]]:
    return {name: {target for target, _ in _imports(name, path) if target != name}
            for name, path in MODULES.items()}


def _layer(name: str) -> int:
    top = name.split(".")[0] if name else ""
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"module {name or 'autoencoders'} is in no layer of LAYERS; add it "
                         "(and to docs/architecture.md)")


def test_no_import_circle_between_modules():
    graph, state, path = _graph(), {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circle = path[path.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " → ".join(circle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_every_import_is_from_the_same_layer_or_below():
    wrong = [f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
             for name, targets in _graph().items() if name
             for target in targets if target and _layer(target) > _layer(name)]
    assert not wrong, "\n".join(wrong)


def test_no_private_name_is_imported_from_another_module():
    shared = {name for name in MODULES if name.rsplit(".", 1)[-1].startswith("_common")}
    wrong = [f"{name} imports {imported} from {target}"
             for name, path in MODULES.items() for target, imported in _imports(name, path)
             if imported and imported.startswith("_") and target not in shared
             and target != "" and not imported.startswith("__")]
    assert not wrong, "\n".join(wrong)


def test_no_module_over_500_lines():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, long


def test_the_layer_test_sees_real_imports():
    # A test that could not fail would prove nothing: the walker finds known edges.
    graph = _graph()
    assert "inputs.spec" in graph["estimator"] or "inputs" in graph["estimator"]
    assert "datasets.source" in graph["training.loop"]
    assert "workflow" in graph["cli.commands"]
