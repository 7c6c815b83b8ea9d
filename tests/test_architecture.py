"""The import rules of ARCHITECTURE.md, checked on the source: imports only point down the
layers (or stay inside their own package), and no two modules import each other, even through
others. Imports inside functions and under TYPE_CHECKING count too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "marco_cli"

# Lowest first. A module belongs to the first (longest) prefix that matches its dotted name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "core",
        (
            "marco_cli",  # the package itself: its version only
            "marco_cli.errors",
            "marco_cli.response",
            "marco_cli.answers",
            "marco_cli.text",
            "marco_cli.files",
            "marco_cli.prompts",
            "marco_cli.prompt_files",
            "marco_cli.data",
        ),
    ),
    ("engine", ("marco_cli.engine",)),
    ("models", ("marco_cli.models",)),
    ("settings", ("marco_cli.settings",)),
    ("search", ("marco_cli.search",)),
    ("language", ("marco_cli.languages", "marco_cli.glossary")),
    ("tasks", ("marco_cli.reasoning", "marco_cli.translate")),
    ("bench", ("marco_cli.bench",)),
    ("ui", ("marco_cli.ui",)),
    ("cli", ("marco_cli.cli", "marco_cli.__main__")),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = prefix != "marco_cli" and module.startswith(prefix + ".")
            matches = module == prefix or inside
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    return best


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The marco_cli modules `module` imports (a `from X import name` of a submodule counts as
    importing the submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known and name != module}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _package(module: str) -> str:
    return module.rpartition(".")[0] if module.count(".") > 1 else module


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, targets in _graph().items():
        for target in targets:
            same_package = _package(target) == _package(module) or target.startswith(module + ".")
            if _layer(target) > _layer(module) and not same_package:
                wrong.append(
                    f"{module} ({LAYERS[_layer(module)][0]}) imports {target} "
                    f"({LAYERS[_layer(target)][0]})"
                )
    assert not wrong, "upward imports:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its own modules is not a cycle of ideas: leave out the
    # edges from a package to its own submodules.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _writes_to_terminal(node: ast.AST) -> bool:
    """`print(...)`, or `sys.stdout` / `sys.stderr` named at all."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "print"
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
        and node.attr in ("stdout", "stderr")
    )


WRITES_ALLOWED = {"marco_cli.engine.llama": "passes llama.cpp's own log to stderr (--verbose)"}


def test_library_code_does_not_print() -> None:
    """Only the cli and ui layers write to the terminal; the rest reports through callbacks."""
    printing = []
    for module, path in _modules().items():
        if LAYERS[_layer(module)][0] in ("cli", "ui") or module in WRITES_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        printing += [f"{module}:{n.lineno}" for n in ast.walk(tree) if _writes_to_terminal(n)]
    assert not printing, "terminal output outside cli/ui: " + ", ".join(printing)


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a search module importing the cli is reported."""
    source = tmp_path / "x.py"
    source.write_text("from marco_cli.cli import app\nimport marco_cli.bench.store\n", "utf-8")
    found = _imports("marco_cli.search.x", source, {"marco_cli.cli", "marco_cli.bench.store"})
    assert found == {"marco_cli.cli", "marco_cli.bench.store"}
    assert _layer("marco_cli.cli") > _layer("marco_cli.search.x")


COMMANDS = sorted((PACKAGE / "cli").glob("*_command.py"))
EXITING = {"ExitCode", "typer.Exit", "sys.exit", "SystemExit"}
OPENERS = {"open_engine", "open_lanes"}


def _dotted(node: ast.AST) -> str | None:
    """`a.b.c` of a name or attribute chain, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _exits(tree: ast.AST) -> list[int]:
    """Lines that name an exit code or exit by themselves (imports of them included)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        else:
            names = {_dotted(node)}
        if names & EXITING:
            lines.append(node.lineno)  # type: ignore[attr-defined]
    return sorted(set(lines))


def _unmanaged_opens(tree: ast.AST) -> list[int]:
    """Lines that open an engine other than as a `with` item or into an ExitStack."""
    managed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            managed.update(id(item.context_expr) for item in node.items)
        elif isinstance(node, ast.Call) and (_dotted(node.func) or "").endswith(".enter_context"):
            managed.update(id(arg) for arg in node.args)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _dotted(node.func) in OPENERS and id(node) not in managed
    ]


def test_commands_leave_exit_codes_to_the_cli() -> None:
    """Only `cli/__init__.py` turns errors and the `Outcome` a command returns into an exit
    code: a command names no `ExitCode` and does not exit by itself."""
    found = [
        f"{path.name}:{line}"
        for path in COMMANDS
        for line in _exits(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "exit codes decided in a command: " + ", ".join(found)


def test_commands_open_engines_with_with() -> None:
    """Every engine a command opens is closed however the command ends: `open_engine` and
    `open_lanes` are only called as a `with` item or into an ExitStack."""
    trees = {path.name: ast.parse(path.read_text(encoding="utf-8")) for path in COMMANDS}
    opened = [
        node
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _dotted(node.func) in OPENERS
    ]
    assert len(opened) >= 5  # solve (2), translate, bench (lanes, math, speed, translate)
    found = [f"{name}:{line}" for name, tree in trees.items() for line in _unmanaged_opens(tree)]
    assert not found, "engines opened outside a with: " + ", ".join(found)


def test_the_command_rules_catch_an_exit_and_an_unmanaged_engine() -> None:
    """The checkers themselves, on the code these rules replaced."""
    exiting = ast.parse(
        "from marco_cli.errors import ExitCode\n"
        "def run():\n"
        "    raise typer.Exit(1)\n"
        "def fail():\n"
        "    sys.exit(2)\n"
    )
    assert _exits(exiting) == [1, 3, 5]
    opening = ast.parse(
        "engine = open_engine(settings)\n"
        "with open_engine(settings) as engine:\n"
        "    pass\n"
        "served = stack.enter_context(open_lanes(settings, 2))\n"
        "lanes = open_lanes(settings, 2)\n"
    )
    assert _unmanaged_opens(opening) == [1, 5]
