"""The shape of the code that a newcomer relies on, checked from the sources (nothing is run).

* the pure modules (photo ingest, photo storage, timeline maths, charts, validation, vocabulary)
  import no Flask, directly or through another module of the app, so they are tested and reused
  without an app;
* route modules only parse, authorise, call a service and answer: no query or commit in them;
* README.md's layout section names every Python module of the app.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "webapp"
PURE = [
    "imaging", "storage", "progress", "photo_choice", "charts", "validation", "vocabulary",
    "summary", "sharing.fhir", "sharing.fhir_types", "timeline.compare", "reminders.schedule",
    "reminders.calendar", "portability.tables", "portability.archive", "portability.rows",
    "log_redaction",
]  # fmt: skip
WEB_FRAMEWORK = (
    "flask",
    "flask_login",
    "flask_wtf",
    "flask_sqlalchemy",
    "flask_limiter",
    "werkzeug",
)


def module_path(name: str) -> Path:
    """webapp.a.b -> its file (a module, or a package's __init__.py)."""
    parts = name.split(".")[1:]
    package = APP.joinpath(*parts)
    return package / "__init__.py" if package.is_dir() else package.with_suffix(".py")


def imports_of(name: str) -> set[str]:
    """Absolute names of the modules `name` imports (relative imports resolved)."""
    path = module_path(name)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in found if not n.startswith("webapp.") or module_path(n).exists()}


def reachable(name: str) -> set[str]:
    """Every module `name` imports, following the app's own modules."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        for imported in imports_of(current):
            if imported not in seen:
                seen.add(imported)
                if imported.startswith("webapp."):
                    todo.append(imported)
    return seen


@pytest.mark.parametrize("name", PURE)
def test_a_pure_module_reaches_no_web_framework(name):
    reached = reachable(f"webapp.{name}")
    web = {n for n in reached if n.split(".")[0] in WEB_FRAMEWORK}
    assert web == set(), f"webapp.{name} reaches {sorted(web)}"


def route_modules() -> list[Path]:
    return sorted(APP.rglob("*routes.py"))


@pytest.mark.parametrize("path", route_modules(), ids=lambda p: str(p.relative_to(APP)))
def test_a_routes_module_runs_no_query_and_commits_nothing(path):
    source = path.read_text()
    database = re.findall(r"\bdb\.(?:session|select|update|delete|insert)\b|\.query\(", source)
    assert database == [], f"{path.relative_to(ROOT)} talks to the database: {database}"


def paths_in_tree(tree: str) -> set[str]:
    """The files a README tree names, as paths: a name is under the folders indented above it."""
    folders: list[tuple[int, str]] = []
    paths = set()
    for line in tree.splitlines():
        name = line.strip().split(" ")[0]
        indent = len(line) - len(line.lstrip())
        folders = [(depth, folder) for depth, folder in folders if depth < indent]
        if name.endswith("/"):
            folders.append((indent, name))
        elif name.endswith(".py"):
            paths.add("".join(folder for _, folder in folders) + name)
    return paths


def test_readme_names_every_module_of_the_app():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    tree = layout.split("```", 2)[1]
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in APP.rglob("*.py")
        if path.name != "__init__.py"
    }
    assert sorted(modules - paths_in_tree(tree)) == []
    assert sorted(p for p in paths_in_tree(tree) - modules if p.startswith("webapp/")) == []
