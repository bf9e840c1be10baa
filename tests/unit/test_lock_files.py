"""The lock files pin exactly what pyproject.toml asks for, each version within its range."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.factories import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
APP_LOCK = PROJECT_ROOT / "requirements" / "app.lock"
TEST_LOCK = PROJECT_ROOT / "requirements" / "test.lock"
# What pip-compile writes under a package that pyproject.toml names itself.
NAMED_BY_PYPROJECT = "survey_app (pyproject.toml)"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def app_requirements() -> list[Requirement]:
    return [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]


def app_and_test_requirements() -> list[Requirement]:
    extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    return app_requirements() + [Requirement(line) for line in extra]


def locked(lock_text: str) -> dict[str, tuple[str, str]]:
    """Return each locked package's (version, its block of hashes and notes) by its name."""
    starts = list(PIN.finditer(lock_text))
    entries = {}
    for number, start in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(lock_text)
        entries[canonicalize_name(start.group(1))] = (start.group(2), lock_text[start.end():end])
    return entries


def disagreements(requirements: list[Requirement], lock_text: str) -> list[str]:
    """Return what differs between pyproject's requirements and a lock, one line each."""
    entries = locked(lock_text)
    wanted = {canonicalize_name(requirement.name): requirement for requirement in requirements}
    direct = {name for name, (_, notes) in entries.items() if NAMED_BY_PYPROJECT in notes}
    problems = [f"{name} is in pyproject.toml, not in the lock" for name in wanted
                if name not in entries]
    problems += [f"{name} is locked as a dependency of the app, not in pyproject.toml"
                 for name in sorted(direct - wanted.keys())]
    for name, requirement in wanted.items():
        if name in entries:
            version = entries[name][0]
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{name}=={version} is outside {requirement.specifier}")
    problems += [f"{name} has no hash" for name, (_, notes) in entries.items()
                 if "--hash=sha256:" not in notes]
    return problems


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [(APP_LOCK, app_requirements), (TEST_LOCK, app_and_test_requirements)],
    ids=["app", "test"],
)
def test_each_lock_pins_what_pyproject_asks_for_within_its_range(lock, requirements):
    assert disagreements(requirements(), lock.read_text()) == [], "run make lock"


def test_the_test_lock_installs_the_same_versions_as_the_app_lock():
    app = {name: version for name, (version, _) in locked(APP_LOCK.read_text()).items()}
    test = {name: version for name, (version, _) in locked(TEST_LOCK.read_text()).items()}
    assert app.keys() <= test.keys()
    assert {name: test[name] for name in app} == app


def test_a_lock_that_disagrees_with_pyproject_is_caught():
    lock = APP_LOCK.read_text()
    requirements = app_requirements()
    # A dependency added to pyproject.toml and never locked.
    assert disagreements([*requirements, Requirement("requests-oauthlib>=2")], lock) == [
        "requests-oauthlib is in pyproject.toml, not in the lock"]
    # One removed from pyproject.toml and still locked as the app's.
    assert disagreements([r for r in requirements if r.name != "pyotp"], lock) == [
        "pyotp is locked as a dependency of the app, not in pyproject.toml"]
    # A range moved on without a new lock.
    flask_version = locked(lock)["flask"][0]
    narrowed = [Requirement("Flask>=99") if r.name == "Flask" else r for r in requirements]
    assert disagreements(narrowed, lock) == [f"flask=={flask_version} is outside >=99"]
    # A pin typed by hand, without its hash.
    assert disagreements(requirements, lock + "six==1.17.0\n") == ["six has no hash"]
