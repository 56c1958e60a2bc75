"""The lock files pin every dependency that pyproject.toml declares (`make lock` regenerates them).

`make run` installs `requirements/run.lock`, `make test` `requirements/dev.lock`; a dependency
added to pyproject.toml but not locked would be installed by nothing.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def normalised(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extra: str | None) -> set[str]:
    """The distribution names pyproject.toml requires (plus one extra's, when given)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    requirements = list(project["dependencies"])
    if extra is not None:
        requirements += project["optional-dependencies"][extra]
    names = set()
    for requirement in requirements:
        match = _NAME.match(requirement.strip())
        assert match is not None, requirement
        names.add(normalised(match[0]))
    return names


def pinned(lock: str) -> dict[str, str]:
    """``name: version`` for every ``name==version`` line of a lock file."""
    found = {}
    for line in (ROOT / "requirements" / lock).read_text("utf-8").splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, rest = line.partition("==")
            found[normalised(name.split("[")[0].strip())] = rest.split(";")[0].strip()
    return found


@pytest.mark.parametrize(("lock", "extra"), [("run.lock", None), ("dev.lock", "dev")])
def test_every_declared_dependency_is_pinned(lock: str, extra: str | None) -> None:
    missing = declared(extra) - set(pinned(lock))
    assert not missing, f"not in requirements/{lock}: {sorted(missing)}; run `make lock`"


def test_the_run_lock_agrees_with_the_dev_lock() -> None:
    run, dev = pinned("run.lock"), pinned("dev.lock")
    differ = {
        name: (version, dev.get(name)) for name, version in run.items() if dev.get(name) != version
    }
    assert not differ, f"run.lock and dev.lock pin different versions: {differ}"
