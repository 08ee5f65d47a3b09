"""The one-way dependencies between the apps (docs/architecture.md), checked on the source.

Every module of kam and of the domain apps — migrations and management commands included —
is parsed with ``ast``; every import counts wherever it stands (module level, inside a
function, under ``if TYPE_CHECKING:``), and so does ``import_module("...")`` with a literal
name. Templates are checked too: ``{% include %}`` / ``{% extends %}`` of another app's
template, ``{% load %}`` of another app's template tags, and a Python string naming another
app's template (``render(request, "accounts/detail.html")``).

The rules:

- ``kam`` imports no domain app;
- a domain app imports only the domain apps ``MAY_IMPORT`` lists for it (``accounts`` none,
  ``scoring`` not ``teams`` or ``risk``, ``teams`` not ``risk``; ``dashboards`` sits on top
  and nothing imports it);
- no app imports another app's page or API internals (``INTERNAL_PART``: views, presenters,
  page helpers, forms, urls, api modules and packages, template tags) or uses its templates.

The composition root needs no exception: ``kam/urls.py`` names the apps' URLconfs in
``include("accounts.urls")`` strings and ``kam/settings.py`` the apps in ``INSTALLED_APPS``
strings; neither imports a domain module, and a string is not an import. Migrations name
other apps' migrations in ``dependencies`` strings, not imports, likewise.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = "kam"

# Each domain app and the domain apps it may import (kam is always allowed). The planned apps
# (service, growth) are checked as soon as their folder exists.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "accounts": frozenset(),
    "scoring": frozenset({"accounts"}),
    "teams": frozenset({"accounts", "scoring"}),
    "service": frozenset({"accounts", "teams"}),
    "risk": frozenset({"accounts", "scoring", "teams", "service", "renewals"}),
    "growth": frozenset({"accounts", "teams", "service"}),
    "renewals": frozenset({"accounts"}),
    "portfolio": frozenset({"accounts", "scoring", "teams", "risk", "service"}),
    "messaging": frozenset({"accounts", "scoring", "teams", "risk", "service", "renewals"}),
    "dashboards": frozenset({"accounts", "scoring", "teams", "risk", "service", "growth", "renewals"}),
}
DOMAIN_APPS = tuple(MAY_IMPORT)
APPS = (CORE, *DOMAIN_APPS)

# A module or package of an app that belongs to its pages or its API: no other app may import
# it (kam's own, such as kam.api, are the shared base every app builds on).
INTERNAL_PART = re.compile(
    r"^(views|presenters|page_helpers|page_selectors|forms|urls|api|templatetags)$|^api_|_api$|_views$|_urls$"
)

TEMPLATE_TAG = re.compile(r"{%-?\s*(include|extends|load)\s+(.*?)\s*-?%}", re.DOTALL)
TEMPLATE_NAME = re.compile(r"^([a-z_]+)/[\w./-]+\.(html|txt|xml)(#[\w-]+)?$")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    importer: str
    target: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} uses {self.target} — {self.rule}"


def _exists_as_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _module_of(path: str) -> tuple[str, bool]:
    """(dotted module name, is a package's __init__) of a path relative to the root."""
    parts = list(Path(path).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imported_modules(source: str, path: str, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, module) of every import in the source, relative ones resolved."""
    module, is_package = _module_of(path)
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                # `from accounts import api` imports the module accounts.api; `from
                # accounts.models import Account` imports accounts.models.
                candidate = f"{base}.{alias.name}" if base else alias.name
                found.append((node.lineno, candidate if _exists_as_module(candidate, root) else base))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"import_module", "__import__"} and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append((node.lineno, first.value))
    return found


def _rule_for(importer: str, target_app: str, target_parts: list[str]) -> str | None:
    """Why the arrow importer -> target is forbidden, or None when it is allowed."""
    if target_app in (importer, CORE) or target_app not in APPS:
        return None
    if importer == CORE:
        return "kam imports no domain app"
    if target_app == "dashboards":
        return "nothing imports dashboards"
    if target_app not in MAY_IMPORT[importer]:
        allowed = ", ".join(sorted(MAY_IMPORT[importer])) or "no other domain app"
        return f"{importer} may import only kam and {allowed}"
    if any(INTERNAL_PART.search(part) for part in target_parts[1:]):
        return "another app's page or API internals: read it through its selectors, services or models"
    return None


def check_source(source: str, path: str, root: Path = ROOT) -> list[Violation]:
    """The forbidden arrows of one Python module, given by its path relative to the root."""
    importer = Path(path).parts[0]
    violations = []
    # One line may import several names of one module: one arrow.
    for line, target in sorted(set(imported_modules(source, path, root))):
        parts = target.split(".")
        rule = _rule_for(importer, parts[0], parts)
        if rule:
            violations.append(Violation(path, line, importer, target, rule))
    # A template name of another app in the Python source: its page internals.
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = TEMPLATE_NAME.match(node.value)
            if match:
                violations.extend(_template_violations(path, node.lineno, importer, match.group(1), node.value))
    return violations


def _template_violations(path: str, line: int, importer: str, target_app: str, target: str) -> list[Violation]:
    if target_app == importer or target_app not in DOMAIN_APPS:
        return []
    rule = _rule_for(importer, target_app, [target_app]) or "another app's templates are its page internals"
    return [Violation(path, line, importer, target, rule)]


def _template_tag_libraries(root: Path) -> dict[str, str]:
    """{library name: app} of the domain apps' template tag libraries."""
    return {
        module.stem: app
        for app in DOMAIN_APPS
        for module in (root / app / "templatetags").glob("*.py")
        if module.stem != "__init__"
    }


def _template_app(path: Path, root: Path) -> str:
    """The app a template belongs to: templates/<app>/..., <app>/templates/..., else kam."""
    relative = path.relative_to(root).parts
    if relative[0] == "templates":
        return relative[1] if len(relative) > 2 and relative[1] in APPS else CORE
    return relative[0]


def check_template(source: str, path: str, app: str, libraries: dict[str, str]) -> list[Violation]:
    """The forbidden arrows of one template of the given app."""
    violations = []
    for match in TEMPLATE_TAG.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        tag, argument = match.group(1), match.group(2)
        if tag == "load":
            for library in argument.split():
                owner = libraries.get(library)
                if owner and owner != app:
                    rule = _rule_for(app, owner, [owner]) or "another app's template tags are its page internals"
                    violations.append(Violation(path, line, app, f"{{% load {library} %}}", rule))
            continue
        literal = re.match(r"""^["']([^"']+)["']""", argument)
        target = TEMPLATE_NAME.match(literal.group(1)) if literal else None
        if target:
            violations.extend(_template_violations(path, line, app, target.group(1), literal.group(1)))
    return violations


def python_modules(root: Path = ROOT) -> list[Path]:
    return sorted(path for app in APPS if (root / app).is_dir() for path in (root / app).rglob("*.py"))


def templates(root: Path = ROOT) -> list[Path]:
    folders = [root / "templates", *(root / app / "templates" for app in APPS)]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*.html"))


def all_violations(root: Path = ROOT) -> list[Violation]:
    violations = []
    for module in python_modules(root):
        violations.extend(check_source(module.read_text(encoding="utf-8"), module.relative_to(root).as_posix(), root))
    libraries = _template_tag_libraries(root)
    for template in templates(root):
        violations.extend(
            check_template(
                template.read_text(encoding="utf-8"),
                template.relative_to(root).as_posix(),
                _template_app(template, root),
                libraries,
            )
        )
    return violations


def test_the_apps_depend_one_way() -> None:
    violations = all_violations()
    assert not violations, "Forbidden dependencies (docs/architecture.md):\n" + "\n".join(map(str, violations))


def test_every_module_is_parsed() -> None:
    """The walk covers every app, its migrations and its management commands."""
    paths = {module.relative_to(ROOT).as_posix() for module in python_modules()}
    for app in ("kam", "accounts", "scoring", "teams", "risk", "dashboards"):
        assert f"{app}/apps.py" in paths, app
    assert any(path.startswith("accounts/migrations/") for path in paths)
    assert any("/management/commands/" in path for path in paths)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A stand-in checkout: the apps as packages with the modules the examples import, so that
    `from accounts import api` is known to name a module whatever the real tree holds today."""
    for module in (
        "accounts/selectors.py",
        "accounts/api/serializers.py",
        "scoring/page_helpers.py",
        "scoring/presenters.py",
        "risk/selectors.py",
        "risk/views/alerts.py",
        "dashboards/cache.py",
        "teams/selectors.py",
    ):
        path = tmp_path / module
        for folder in [path.parent, *path.parent.parents]:
            if folder == tmp_path:
                break
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "__init__.py").touch()
        path.touch()
    return tmp_path


@pytest.mark.parametrize(
    ("path", "source", "line", "target"),
    [
        ("teams/x.py", "from risk import selectors\n", 1, "risk.selectors"),
        ("teams/x.py", "def f():\n    from risk.models import RiskAlert\n", 2, "risk.models"),
        (
            "scoring/x.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import teams.models\n",
            3,
            "teams.models",
        ),
        ("accounts/x.py", "import scoring.services\n", 1, "scoring.services"),
        ("kam/x.py", "from accounts.selectors import account_get\n", 1, "accounts.selectors"),
        ("risk/x.py", "from dashboards import cache\n", 1, "dashboards.cache"),
        ("risk/x.py", "from scoring.page_helpers import why_tier\n", 1, "scoring.page_helpers"),
        ("risk/x.py", "from accounts.api.serializers import X\n", 1, "accounts.api.serializers"),
        ("risk/x.py", "from accounts import api\n", 1, "accounts.api"),
        ("dashboards/x.py", "from risk.views import alerts\n", 1, "risk.views.alerts"),
        ("teams/x.py", "from scoring.presenters import tier_text\n", 1, "scoring.presenters"),
        ("risk/migrations/0009_x.py", "import teams.forms\n", 1, "teams.forms"),
        ("teams/x.py", "import importlib\nm = importlib.import_module('risk.selectors')\n", 2, "risk.selectors"),
        (
            "dashboards/x.py",
            "x = 1\nrender(request, 'accounts/detail.html#badges', {})\n",
            2,
            "accounts/detail.html#badges",
        ),
    ],
)
def test_the_checker_catches_a_forbidden_arrow(tree: Path, path: str, source: str, line: int, target: str) -> None:
    violations = check_source(source, path, tree)
    assert [(v.path, v.line, v.target) for v in violations] == [(path, line, target)]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("risk/x.py", "from accounts.selectors import account_get\nfrom teams.selectors import coverage\n"),
        ("teams/x.py", "from scoring.models import ScoreRun\nfrom . import selectors\nfrom .views import x\n"),
        ("dashboards/x.py", "from risk import selectors\nfrom scoring.selectors import tier_summary\n"),
        ("accounts/x.py", "from kam.api.viewsets import TenantViewSet\nfrom kam.pages import go\n"),
        ("kam/urls.py", "from django.urls import include, path\nurls = [path('a/', include('accounts.urls'))]\n"),
        ("accounts/migrations/0002_x.py", "dependencies = [('scoring', '0001_initial')]\n"),
        ("teams/x.py", "render(request, 'teams/plan.html', {})\n"),
        ("risk/views/x.py", "from ..selectors import alert_list\nfrom . import alerts\n"),
    ],
)
def test_the_checker_allows_the_permitted_arrows(tree: Path, path: str, source: str) -> None:
    assert check_source(source, path, tree) == []


def test_the_checker_reads_templates() -> None:
    libraries = {"teams_tags": "teams"}
    source = '{% extends "base.html" %}\n{% load i18n teams_tags %}\n{% include "dashboards/_refresh.html" %}\n'
    found = check_template(source, "templates/accounts/detail.html", "accounts", libraries)
    assert [(v.line, v.target) for v in found] == [(2, "{% load teams_tags %}"), (3, "dashboards/_refresh.html")]
    own = '{% load teams_tags %}{% include "teams/_coverage.html" %}{% include "kam/_field.html" %}'
    assert check_template(own, "templates/teams/team.html", "teams", libraries) == []
    assert _template_app(ROOT / "templates" / "base.html", ROOT) == CORE
    assert _template_app(ROOT / "templates" / "risk" / "center.html", ROOT) == "risk"
