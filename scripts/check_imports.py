"""Check the import graph of src/cnnkit: no cycles, no upward imports, no private names
imported across modules.

Every ``import``/``from ... import`` is read with ``ast``, at module level and inside
functions alike (an import inside a function is still a dependency). An import goes to the
module it names; ``from package import name`` goes to the submodule ``package.name`` when
there is one, else to the package. Three rules:

- **No cycles** between modules (a function-level import that only breaks a cycle is
  still a cycle).
- **No upward imports.** Each top-level part of the package (a subpackage, or a module
  directly under ``cnnkit/``) sits on one of the ``LAYERS`` below; a module imports only
  from its own part or from parts on lower layers. Parts on the same layer do not import
  each other.
- **No private names across modules**: ``from x import _name`` is refused (a name another
  module needs is public: no underscore, a docstring).

Run ``python scripts/check_imports.py`` (exit status 1 and one line per problem when the
graph breaks a rule); ``tests/scripts/test_import_graph.py`` runs it.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "cnnkit"

# Bottom to top (DESIGN.md, "Layout"). A part imports from itself and from any layer below;
# never from above, nor from another part of its own layer.
LAYERS: list[tuple[str, ...]] = [
    ("cnnkit", "errors"),  # the package root (its version) and the error classes
    ("naming", "atomic", "seeding", "tables", "model_files", "paths", "yaml_files",
     "thread_count"),  # helpers
    ("registry",),  # names -> objects, with did-you-mean
    ("activations", "initializers"),
    ("diagnosis",),  # pure rules over numbers: training curves, class counts
    ("layers",),  # Keras-named layers and the torch modules they build
    ("data",),  # readers, decoding, the memory-mapped cache (uses the layers' Keras resize)
    ("kernels", "export"),  # the hand-written C++ kernels; ONNX/TorchScript export
    ("train",),  # the trainer: its loop and step, losses, metrics, optimizers, callbacks
    ("models",),  # Sequential, its network, saving, inference, preprocessing
    ("zoo", "evaluation", "explain", "predict"),  # built on models
    ("weights",),  # pretrained weights for the zoo's networks
    ("spec",),  # the CLI's model names: zoo names, layer-spec files, saved models
    ("recipes",),  # networks with tuned training settings, and how they train
    ("report", "serve"),  # the HTML report of a run directory; the prediction server
    ("workflows",),  # a whole training run: data, model, trainer, run files, test, report
    ("keras", "commands"),  # the Keras facade, the commands of the CLI
    ("tf", "cli"),  # tf.keras over the Keras facade, the CLI over its commands
    ("__main__",),  # python -m cnnkit
]


def module_name(path: Path, package: Path) -> str:
    """``cnnkit.train.loop`` for src/cnnkit/train/loop.py (packages without __init__)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_modules(package: Path) -> dict[str, Path]:
    """Every module of the package by name."""
    return {module_name(path, package): path for path in sorted(package.rglob("*.py"))}


def imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """``(target module, imported name or "", line)`` for each cnnkit import in the file."""
    found = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names
                      if alias.name.split(".")[0] == "cnnkit"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "cnnkit":
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return found


def part(module: str) -> str:
    """The top-level part a module belongs to (``train`` for cnnkit.train.loop)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else pieces[0]


def layer_of(name: str) -> int:
    """The index of ``name``'s layer in LAYERS; a part missing from LAYERS is an error."""
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise SystemExit(f"check_imports: {name!r} is on no layer: add it to LAYERS")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def problems(package: Path = PACKAGE) -> list[str]:
    """One line per broken rule in ``package`` (a folder named cnnkit), sorted; empty when
    the graph is clean."""
    modules = read_modules(package)
    graph: dict[str, set[str]] = defaultdict(set)
    found = []
    for name, path in modules.items():
        where = path.relative_to(package.parent)
        for target, imported, line in imports(name, path, modules):
            if target != name:
                graph[name].add(target)
            if imported.startswith("_") and not imported.startswith("__") and target != name:
                found.append(f"{where}:{line}: private name {imported} imported from {target}")
            here, there = part(name), part(target)
            if here != there and layer_of(here) <= layer_of(there):
                kind = "upward" if layer_of(here) < layer_of(there) else "sideways"
                found.append(f"{where}:{line}: {kind} import of {target} ({here} is on layer "
                             f"{layer_of(here)}, {there} on layer {layer_of(there)})")
    for component in cycles(graph):
        found.append("import cycle: " + " <-> ".join(component))
    return sorted(found)


def main() -> int:
    """Print every problem; 1 if there is any."""
    found = problems()
    for line in found:
        print(line)
    print(f"check_imports: {len(found)} problem(s) in {PACKAGE}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
