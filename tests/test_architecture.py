"""Import rules of the house (issue 9), checked by parsing every module of bot/ and storage/.

- ``bot/handlers/*`` speak Telegram only: they never import ``storage`` (not even types) nor
  another handler module (``bot/handlers/__init__`` aside); shared UI lives in
  ``bot/telegram_ui.py``.
- Domain rule modules (everything in bot/ outside the handlers, the engine, the wiring (app,
  __main__, context, persistence, tryit, updates) and the shared Telegram UI) never import
  ``telegram``, nor the modules that do. The engine's
  ``render`` and ``runtime`` are plain as well, so a task-type plug-in can render a task.
- ``storage`` never imports ``bot``, except two leaf modules of plain values that import nothing
  of the house: ``bot.errors`` (storage raises ``StorageError``) and ``bot.batch_settings`` (the
  one ``BatchSettings`` value flows from the manifest to the batches table).
- No file of tests/, bench/ or scripts/ imports a test module (``tests.<...>.test_*``): shared
  builders live in ``tests/builders.py`` (``tests/crowds.py`` for the simulated crowd), the e2e
  helpers in ``tests/e2e/harness.py`` and shared fixtures in a ``conftest.py``.

Imports inside functions and under ``TYPE_CHECKING`` count like any other.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage")
TEST_TREES = ("tests", "bench", "scripts")

# Modules that may speak Telegram: the handlers, the engine (the delivery layer), the wiring
# and the shared Telegram UI. Every other module under bot/ is a plain domain module.
TELEGRAM_ROOMS = (
    "bot.handlers",
    "bot.engine",
    "bot.app",
    "bot.__main__",
    "bot.tryit",
    "bot.updates",
    "bot.context",
    "bot.persistence",
    "bot.telegram_ui",
)
# Engine modules that stay plain although they live in the engine package.
PLAIN_ENGINE = ("bot.engine.render", "bot.engine.runtime", "bot.engine")
STORAGE_MAY_IMPORT = ("bot.errors", "bot.batch_settings")


@dataclass(frozen=True, order=True)
class Violation:
    module: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module} imports {self.imported}: {self.rule}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Every module of the checked packages under ``root``, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[_module_name(root, path)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The dotted names a module imports (``from a import b`` is ``a.b`` when b is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")
                if not is_package:
                    package = package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


def _telegram_room(module: str) -> bool:
    if module in PLAIN_ENGINE:
        return False
    return any(_within(module, room) for room in TELEGRAM_ROOMS)


def check(root: Path) -> list[Violation]:
    """Every broken import rule under ``root`` (a checkout, or a planted tree in a test)."""
    modules = modules_of(root)
    known = set(modules)
    violations: list[Violation] = []
    for module, path in modules.items():
        for imported in sorted(imports_of(module, path, known)):
            if _within(module, "bot.handlers") and module != "bot.handlers":
                if _within(imported, "storage"):
                    violations.append(Violation(module, imported, "a handler imports storage"))
                if (
                    _within(imported, "bot.handlers")
                    and imported != "bot.handlers"
                    and imported != module
                ):
                    violations.append(
                        Violation(module, imported, "a handler imports another handler")
                    )
            if _within(module, "bot") and not _telegram_room(module):
                if _within(imported, "telegram"):
                    violations.append(
                        Violation(module, imported, "a domain module imports telegram")
                    )
                elif imported not in PLAIN_ENGINE and any(
                    _within(imported, room) for room in TELEGRAM_ROOMS
                ):
                    violations.append(
                        Violation(module, imported, "a domain module imports a Telegram room")
                    )
            if (
                _within(module, "storage")
                and _within(imported, "bot")
                and not any(_within(imported, allowed) for allowed in STORAGE_MAY_IMPORT)
            ):
                violations.append(Violation(module, imported, "storage imports bot"))
            if module in STORAGE_MAY_IMPORT and any(
                _within(imported, house) for house in ("bot", "storage", "telegram")
            ):
                violations.append(Violation(module, imported, "a leaf value module imports"))
    return sorted(violations)


def _test_module(name: str) -> bool:
    return _within(name, "tests") and name.rsplit(".", 1)[-1].startswith("test_")


def check_tests(root: Path) -> list[Violation]:
    """Every import of a test module by a file of tests/, bench/ or scripts/ under ``root``."""
    modules = modules_of(root, TEST_TREES)
    known = set(modules)
    violations: list[Violation] = []
    for module, path in modules.items():
        for imported in sorted(imports_of(module, path, known)):
            if _test_module(imported) and imported != module:
                violations.append(Violation(module, imported, "imports a test module"))
    return sorted(violations)


# -- the house as it is --------------------------------------------------------------------------


def test_the_house_keeps_its_import_rules() -> None:
    assert [str(v) for v in check(ROOT)] == []


def test_the_checker_sees_the_whole_house() -> None:
    modules = modules_of(ROOT)
    assert "bot.handlers.tasks" in modules
    assert "bot.engine.jobs" in modules
    assert "storage.users" in modules
    # A handler's imports are found, relative or absolute, at any depth.
    found = imports_of("bot.handlers.tasks", modules["bot.handlers.tasks"], set(modules))
    assert "bot.engine.followup" in found
    assert "telegram" in found


def test_no_file_imports_a_test_module() -> None:
    assert [str(v) for v in check_tests(ROOT)] == []


def test_the_test_checker_sees_tests_and_bench() -> None:
    modules = modules_of(ROOT, TEST_TREES)
    assert "tests.builders" in modules
    assert "tests.e2e.test_quality" in modules
    assert "bench.crowd" in modules
    found = imports_of("bench.crowd", modules["bench.crowd"], set(modules))
    assert "tests.builders" in found


# -- the checker catches planted violations ------------------------------------------------------


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, source in {
        "bot/__init__.py": "",
        "bot/errors.py": "class StorageError(Exception): ...\n",
        "bot/handlers/__init__.py": "",
        "bot/engine/__init__.py": "",
        "storage/__init__.py": "",
        **files,
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


def test_a_clean_planted_tree_passes(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "bot/ledger.py": "from storage import users\n",
            "bot/telegram_ui.py": "from telegram import Update\n",
            "bot/engine/render.py": "from bot import ledger\n",
            "bot/engine/jobs.py": "from telegram.ext import JobQueue\nfrom storage import users\n",
            "bot/handlers/tasks.py": (
                "from telegram import Update\nfrom bot.telegram_ui import x\n"
                "from bot.engine import jobs\nfrom bot import ledger\n"
            ),
            "storage/users.py": "from bot.errors import StorageError\n",
        },
    )
    assert check(root) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"bot/handlers/money.py": "from storage.users import User\n", "storage/users.py": ""},
            Violation("bot.handlers.money", "storage.users", "a handler imports storage"),
        ),
        (
            {"bot/handlers/money.py": "def f():\n    import storage\n"},
            Violation("bot.handlers.money", "storage", "a handler imports storage"),
        ),
        (
            {"bot/handlers/a.py": "from bot.handlers import b\n", "bot/handlers/b.py": ""},
            Violation("bot.handlers.a", "bot.handlers.b", "a handler imports another handler"),
        ),
        (
            {"bot/handlers/a.py": "from . import b\n", "bot/handlers/b.py": ""},
            Violation("bot.handlers.a", "bot.handlers.b", "a handler imports another handler"),
        ),
        (
            {
                "bot/ledger.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from telegram import Bot\n"
            },
            Violation("bot.ledger", "telegram", "a domain module imports telegram"),
        ),
        (
            {"bot/engine/render.py": "import telegram.ext\n"},
            Violation("bot.engine.render", "telegram.ext", "a domain module imports telegram"),
        ),
        (
            {"bot/ledger.py": "from bot.telegram_ui import keyboard\n", "bot/telegram_ui.py": ""},
            Violation("bot.ledger", "bot.telegram_ui", "a domain module imports a Telegram room"),
        ),
        (
            {"storage/users.py": "from bot.config import Settings\n", "bot/config.py": ""},
            Violation("storage.users", "bot.config", "storage imports bot"),
        ),
        (
            {"storage/users.py": "from bot import config\n", "bot/config.py": ""},
            Violation("storage.users", "bot.config", "storage imports bot"),
        ),
        (
            {"bot/batch_settings.py": "from storage.db import Row\n", "storage/db.py": ""},
            Violation("bot.batch_settings", "storage.db", "a leaf value module imports"),
        ),
    ],
)
def test_the_checker_reports_a_planted_violation(
    tmp_path: Path, files: dict[str, str], expected: Violation
) -> None:
    assert check(_plant(tmp_path, files)) == [expected]


def test_a_clean_planted_test_tree_passes(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "tests/__init__.py": "",
            "tests/conftest.py": "ADMIN_ID = 1\n",
            "tests/builders.py": "from tests.conftest import ADMIN_ID\n",
            "tests/test_a.py": "from tests.builders import NOW\nfrom tests import conftest\n",
            "tests/e2e/__init__.py": "",
            "tests/e2e/harness.py": "from tests.builders import NOW\n",
            "tests/e2e/test_b.py": "from tests.e2e.harness import WAIT\nfrom . import harness\n",
            "bench/crowd.py": "from tests.builders import publish_batch\n",
        },
    )
    assert check_tests(root) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"tests/test_gold.py": "from tests.test_dispatch import NOW\n"},
            Violation("tests.test_gold", "tests.test_dispatch", "imports a test module"),
        ),
        (
            {
                "tests/e2e/test_quality.py": "from tests.e2e.test_worker_loop import app as app\n",
                "tests/e2e/test_worker_loop.py": "",
            },
            Violation(
                "tests.e2e.test_quality", "tests.e2e.test_worker_loop", "imports a test module"
            ),
        ),
        (
            {
                "tests/e2e/test_quality.py": "from .test_worker_loop import WAIT\n",
                "tests/e2e/test_worker_loop.py": "",
            },
            Violation(
                "tests.e2e.test_quality", "tests.e2e.test_worker_loop", "imports a test module"
            ),
        ),
        (
            {"bench/report.py": "from tests import test_crowd\n", "tests/test_crowd.py": ""},
            Violation("bench.report", "tests.test_crowd", "imports a test module"),
        ),
        (
            {"scripts/tool.py": "def f():\n    import tests.test_dispatch\n"},
            Violation("scripts.tool", "tests.test_dispatch", "imports a test module"),
        ),
    ],
)
def test_the_checker_reports_a_planted_test_import(
    tmp_path: Path, files: dict[str, str], expected: Violation
) -> None:
    assert check_tests(_plant(tmp_path, files)) == [expected]
