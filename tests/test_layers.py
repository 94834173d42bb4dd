"""The apps' layering, read from the source with ``ast``: the core (``loyalty``) imports no
feature app, a feature app (``members``, ``rewards``, ``tiers``, ``charity``, …) imports no
other one, and nothing imports the demo, which sits above them all and may import every app.

Every ``.py`` file of the apps counts: views, services, management commands, migrations, also
imports inside functions and imports by name (``import_module("members.x")``,
``import_string("rewards.y")``). Strings that only name a module for Django (``include(
"members.urls")`` in the root URLconf, dotted paths in settings) are the intended way to plug
an app in and are not imports."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

REPO_ROOT = Path(__file__).resolve().parents[1]
CORE = "loyalty"
DEMO = "demo"
# Functions that import the module named by their first argument.
IMPORTING_CALLS = {"import_module", "import_string", "__import__"}


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """The modules a file imports, absolute, with their line numbers. ``package`` is the
    dotted package the file is in (for relative imports)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (name in IMPORTING_CALLS and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                found.append((node.lineno, first.value))
    return found


def forbidden_for(app: str, features: set[str]) -> set[str]:
    """The top-level packages ``app`` must not import."""
    if app == CORE:
        return features | {DEMO}
    return (features - {app}) | {DEMO}


def app_files(root: Path, app: str) -> list[Path]:
    """Every Python file of an app, in every subdirectory."""
    return sorted((root / app).rglob("*.py"))


def layer_violations(root: Path, features: set[str]) -> list[str]:
    """Every import that breaks the layering, as "path:line imports module"."""
    violations = []
    for app in sorted({CORE, *features}):
        banned = forbidden_for(app, features)
        for path in app_files(root, app):
            relative = path.relative_to(root)
            package = ".".join(relative.with_suffix("").parts[:-1])
            if path.name == "__init__.py":
                package = ".".join(relative.parts[:-1])
            for line, module in imported_modules(path.read_text(encoding="utf-8"), package):
                if module.split(".")[0] in banned:
                    violations.append(f"{relative}:{line} imports {module}")
    return violations


def project_feature_apps() -> set[str]:
    """The project's own apps (in this repository) but the core and the demo."""
    return {
        config.name for config in apps.get_app_configs()
        if Path(config.path).parent == REPO_ROOT and config.name not in {CORE, DEMO}
    }


# --- The project -------------------------------------------------------------------------------


def test_the_project_apps_are_found():
    assert project_feature_apps() >= {"members", "rewards", "tiers", "charity"}
    assert apps.is_installed(DEMO)


def test_the_apps_keep_their_layers():
    assert layer_violations(REPO_ROOT, project_feature_apps()) == []


def test_the_checker_reads_management_commands_views_and_migrations():
    read = {path.relative_to(REPO_ROOT).as_posix() for path in app_files(REPO_ROOT, CORE)}
    assert {"loyalty/management/commands/reconcile_ledger.py", "loyalty/views/counter.py",
            "loyalty/migrations/0001_initial.py"} <= read
    assert "rewards/migrations/0001_initial.py" in {
        path.relative_to(REPO_ROOT).as_posix() for path in app_files(REPO_ROOT, "rewards")}


def test_the_demo_commands_left_the_core():
    assert not (REPO_ROOT / CORE / "management" / "commands" / "load_demo.py").exists()
    assert not (REPO_ROOT / CORE / "management" / "commands" / "seed_demo.py").exists()


# --- The checker, on planted imports --------------------------------------------------------------


def _plant(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_clean_tree_has_no_violations(tmp_path):
    _plant(tmp_path, {
        "loyalty/__init__.py": "",
        "loyalty/services.py": "from django.db import transaction\nfrom . import models\n",
        "loyalty/urls.py": "from django.urls import include\nurls = [include('members.urls')]\n",
        "members/views/portal.py": "from loyalty import services\nfrom .. import forms\n",
        "rewards/services.py": "import loyalty.services\n",
        "demo/load.py": "import members.services\nimport rewards.services\n",
    })
    assert layer_violations(tmp_path, {"members", "rewards"}) == []


def test_planted_bad_imports_are_each_found(tmp_path):
    _plant(tmp_path, {
        "loyalty/__init__.py": "",
        # The old load_demo's mistake: an import inside a management command's function.
        "loyalty/management/commands/load_demo.py": (
            "def handle():\n    from members.services import member_enrol\n"),
        "loyalty/migrations/0002_x.py": "import rewards.models\n",
        "loyalty/views/counter.py": "from importlib import import_module\n"
                                    "panel = import_module('rewards.views')\n",
        "members/services.py": "from rewards import services\n",
        "members/views/__init__.py": "from demo import people\n",
        "rewards/tasks.py": "from django.utils.module_loading import import_string\n"
                            "f = import_string('members.services.member_enrol')\n",
    })

    assert layer_violations(tmp_path, {"members", "rewards"}) == [
        "loyalty/management/commands/load_demo.py:2 imports members.services",
        "loyalty/migrations/0002_x.py:1 imports rewards.models",
        "loyalty/views/counter.py:2 imports rewards.views",
        "members/services.py:1 imports rewards",
        "members/views/__init__.py:1 imports demo",
        "rewards/tasks.py:2 imports members.services.member_enrol",
    ]


def test_relative_imports_resolve_to_the_file_package():
    assert imported_modules("from .models import Shop\nfrom .. import services\n",
                            "members.views") == [(1, "members.views.models"),
                                                 (2, "members")]
