"""The house rules, checked from the source: layers import downwards only, no cycles, the frame
loop loads no operator code, no private names cross modules, modules and functions stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "arfilter"

# Lowest first: a module may import its own layer and the layers before it, never one after.
# The shaders (a top-level folder shipped as arfilter.shaders) sit with render.
LAYERS = ("core", "draw", "io", "tracking", "shaders", "render", "session", "operator", "ops", "settings", "web",
          "app", "cli")
# What the frame loop may never load: the operator's rooms, the looks and the shader stack.
NOT_IN_THE_LOOP = ("arfilter.operator", "arfilter.shaders", "arfilter.render", "arfilter.ops", "arfilter.app",
                   "arfilter.cli", "arfilter.settings", "arfilter.draw")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
WHY = "# why:"  # a comment with this tag on the def line (or just above) allows a longer function or module


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if (PACKAGE / parts[1]).is_symlink():  # shaders/ and overlays/ linked in (a mutation copy): read below
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    for path in sorted((REPO / "shaders").glob("*.py")):
        found["arfilter.shaders" + ("" if path.stem == "__init__" else f".{path.stem}")] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path, *, top_level_only: bool) -> set[str]:
    """The arfilter modules ``module`` imports (those under ``if TYPE_CHECKING`` left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, nested)
                continue
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import) and not (top_level_only and nested):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and not (top_level_only and nested):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                names.add(target)
                names.update(f"{target}.{alias.name}" for alias in child.names)
            visit(child, inner)

    visit(tree, False)
    return {name for name in names if name == "arfilter" or name.startswith("arfilter.")}


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported dotted name refers to (``a.b.func`` -> ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        targets = {_known(name, modules) for name in _imports(module, path, top_level_only=top_level_only)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_subpackage_is_a_known_layer():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file() and not p.is_symlink()}
    assert folders == set(LAYERS) - {"shaders"}, "add the new layer to LAYERS, in its place"
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"every module lives in a layer: {loose}"


def test_no_layer_imports_a_layer_above_it():
    upward = []
    for module, targets in _graph(top_level_only=False).items():
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports must flow downwards (or go under TYPE_CHECKING): " + ", ".join(sorted(upward))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_no_import_cycles():
    # Package __init__ files that only re-export are part of every import of their children: leave
    # the package -> child edges out, or every child importing a sibling would look like a cycle.
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in _graph(top_level_only=False).items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_graph_checks_catch_what_they_are_for():
    """The checks themselves: an upward edge and a cycle in a made-up graph are found."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert _layer("arfilter.session.loop") < _layer("arfilter.operator.kiosk")


def _closure(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
            parent = node.rpartition(".")[0]
            if parent.startswith("arfilter"):
                todo.append(parent)  # importing a.b.c runs a/__init__ and a/b/__init__
    return seen


def test_the_frame_loop_loads_no_operator_kiosk_web_campaign_or_shader_code():
    closure = _closure("arfilter.session.loop", _graph(top_level_only=True))
    bad = sorted(m for m in closure if m.startswith(NOT_IN_THE_LOOP))
    assert not bad, f"importing the loop loads {bad}"
    # And really, in a fresh interpreter: what `import arfilter.session.loop` puts in sys.modules.
    code = ("import sys, arfilter.session.loop; "
            "print('\\n'.join(m for m in sys.modules if m.startswith('arfilter')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=120).stdout.split()
    assert not [m for m in loaded if m.startswith(NOT_IN_THE_LOOP)], loaded
    assert len(loaded) <= 10, f"the loop needs only core and its own layer: {loaded}"


def test_reading_an_event_file_loads_no_shader_or_look():
    code = ("import sys, arfilter.settings.config; "
            "print('\\n'.join(m for m in sys.modules if m.startswith('arfilter')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=120).stdout.split()
    assert not [m for m in loaded if m.startswith(("arfilter.shaders", "arfilter.render"))], loaded


def test_the_command_line_loads_no_compiled_code_until_a_command_draws():
    """Compiled kernels take half a second to load (seconds the first time on a machine): ``arfilter --help``,
    ``config``, ``install`` and ``doctor``'s arguments must not wait for them; the renderer loads them."""
    code = ("import sys\n"
            "from arfilter.cli.parser import build_parser\n"
            "build_parser()\n"
            "print('numba' in sys.modules)\n"
            "import arfilter.render.renderer\n"
            "print('numba' in sys.modules, 'arfilter.shaders._compiled' in sys.modules)\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           timeout=120).stdout.split("\n")
    assert shown[:2] == ["False", "True True"], shown


def test_no_private_name_is_imported_across_modules():
    crossings = []
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("arfilter", "")) and node.level == 0 \
                    and (node.module or "").startswith("arfilter"):
                crossings += [f"{module}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]
    assert not crossings, crossings


def _allowed(lines: list[str], line_number: int) -> bool:
    """A ``# why:`` comment on the def line or in the comment block right above it."""
    if WHY in lines[line_number - 1]:
        return True
    index = line_number - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        if WHY in lines[index]:
            return True
        index -= 1
    return False


def test_modules_and_functions_are_small_or_say_why():
    too_long = []
    for module, path in _modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_MODULE_LINES and not any(WHY in line for line in lines[:30]):
            too_long.append(f"{module}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                if length > MAX_FUNCTION_LINES and not _allowed(lines, first):
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert not too_long, f"split these, or say why in a '{WHY}' comment: {too_long}"


@pytest.mark.parametrize("folder", ["arfilter", "shaders"])
def test_no_test_only_code_ships(folder):
    text = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / folder).rglob("*.py"))
    for test_only in ("PacedCapture", "warp_per_triangle", "import pytest"):
        assert test_only not in text, f"{test_only} belongs in tests/ or benchmarks/"
