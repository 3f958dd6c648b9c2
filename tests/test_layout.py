"""The package's import graph: no import circles, and the lower layers import
nothing above them (the picture in the README's "Where things are")."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "drl_np"

# modules that must not import any module of drl_np outside this set
LOWER = {
    "drl_np._validation": set(),
    "drl_np.rng": {"drl_np._validation"},
    "drl_np.methods": set(),
    "drl_np.toolbox.activations": set(),
    "drl_np.toolbox._numba": {"drl_np.toolbox.activations", "drl_np.toolbox._exp", "drl_np.toolbox._products",
                             "drl_np.toolbox._simd"},
    "drl_np.decision": {"drl_np._validation", "drl_np.ggki"},
    "drl_np.clustering": {"drl_np._validation"},
}
UPPER = {"drl_np", "drl_np.__main__", "drl_np.api", "drl_np.cli", "drl_np.io", "drl_np.report",
         "drl_np.figures",
         # whole scenes: the entry points and the file readers and writers
         "drl_np.scene_api", "drl_np.cli_scene", "drl_np.sources", "drl_np.scene_io"}


def _module(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts), parts[-1] == "__init__"


def _imports():
    """Module -> the drl_np modules it imports (top level and inside functions)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name, is_package = _module(path)
        base = name.split(".") if is_package else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                root = base[:len(base) - (node.level - 1)]
                mod = ".".join(root + ([node.module] if node.module else []))
                candidates = [f"{mod}.{a.name}" for a in node.names]
                hits = [c for c in candidates if (PACKAGE.parent / c.replace(".", "/")).with_suffix(".py").exists()
                        or (PACKAGE.parent / c.replace(".", "/") / "__init__.py").exists()]
                targets.update(hits or [mod])
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("drl_np"))
        graph[name] = targets - {name}
    return graph


def test_no_import_circles():
    graph = _imports()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            # a package's __init__ importing its own submodules is not a circle
            if node.startswith(nxt + ".") and nxt != "drl_np.toolbox" or nxt.startswith(node + "."):
                continue
            assert state.get(nxt) != "open", f"import circle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_lower_layers_import_nothing_above_them():
    graph = _imports()
    for name, allowed in LOWER.items():
        assert graph[name] <= allowed, f"{name} imports {sorted(graph[name] - allowed)}"
    for name, targets in graph.items():
        if name not in UPPER:
            assert not (targets & UPPER), f"{name} imports the upper layer {sorted(targets & UPPER)}"
