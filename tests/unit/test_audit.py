"""make audit: a known vulnerability fails the scan unless accepted, with a reason, until a date."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date

import pytest

from tests.factories import PROJECT_ROOT

# requirements/audit.py is a script beside the lock files, not a module of the app.
_spec = importlib.util.spec_from_file_location("requirements_audit",
                                               PROJECT_ROOT / "requirements/audit.py")
assert _spec is not None and _spec.loader is not None
audit = sys.modules.setdefault("requirements_audit", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(audit)

TODAY = date(2026, 12, 6)
VULNERABLE = {
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "werkzeug", "version": "3.1.9", "vulns": [
            {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"],
             "fix_versions": ["3.1.10"], "description": "…"}]},
    ],
    "fixes": [],
}


def test_a_known_vulnerability_fails_the_scan_and_names_the_fix():
    verdict = audit.judge(VULNERABLE, [], TODAY)
    assert verdict.fails and not verdict.unreachable
    assert "VULNERABLE: werkzeug==3.1.9: GHSA-aaaa-bbbb-cccc, CVE-2026-0001; fixed in 3.1.10" in (
        verdict.lines)


def test_an_accepted_vulnerability_passes_until_its_date_then_fails_again():
    accepted = audit.read_ignore_file(
        "# a comment\n\nCVE-2026-0001  2026-12-31  the debugger is never enabled in production\n")
    passing = audit.judge(VULNERABLE, accepted, TODAY)
    assert not passing.fails
    assert passing.lines[0] == (
        "accepted until 2026-12-31: werkzeug==3.1.9: GHSA-aaaa-bbbb-cccc, CVE-2026-0001 "
        "(the debugger is never enabled in production)")
    lapsed = audit.judge(VULNERABLE, accepted, date(2027, 1, 1))
    assert lapsed.fails
    assert lapsed.lines[0].endswith("(its acceptance has lapsed)")


@pytest.mark.parametrize("line", ["GHSA-aaaa-bbbb-cccc", "GHSA-aaaa-bbbb-cccc 2026-12-31",
                                  "GHSA-aaaa-bbbb-cccc because we said so"])
def test_an_acceptance_without_a_date_and_a_reason_is_refused(line):
    with pytest.raises(ValueError, match="ID YYYY-MM-DD reason"):
        audit.read_ignore_file(line)


def test_an_unreachable_advisory_service_is_told_apart_from_a_clean_scan():
    unreached = {"dependencies": [
        {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: "
                                      f"{name} (1.0)"} for name in ("flask", "werkzeug")]}
    verdict = audit.judge(unreached, [], TODAY)
    assert verdict.unreachable and not verdict.fails
    clean = audit.judge({"dependencies": [VULNERABLE["dependencies"][0]]}, [], TODAY)
    assert not clean.unreachable and not clean.fails
    assert clean.lines == ["1 packages audited, 0 known vulnerabilities, none unaccepted"]


def test_the_repository_accepts_no_vulnerability_without_a_reason_and_a_date():
    kept = (PROJECT_ROOT / "requirements/audit-ignore.txt").read_text()
    for entry in audit.read_ignore_file(kept):  # a line without them raises
        assert entry.reason and entry.until
