"""Scan the app's lock file for known vulnerabilities (pip-audit, PyPI's advisory service).

    python requirements/audit.py [requirements/app.lock]

Exit 1 when a locked version has a known vulnerability that requirements/audit-ignore.txt
does not accept; exit 0 otherwise. When the advisory service cannot be reached, the scan
says so loudly on stderr and exits 0: an outage of the service is not a vulnerability, and
CI must not stop because of it (the next run scans again). Set AUDIT_STRICT=1 to make an
unreachable service fail too, as a release should (docs/deployment.md, «Releasing»).

The ignore file holds one accepted vulnerability a line, with the date until which it is
accepted and the reason:

    GHSA-xxxx-xxxx-xxxx  2027-03-31  only reachable through X, which the app never calls

After that date the entry no longer counts, so that every acceptance is looked at again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
IGNORE_FILE = HERE / "audit-ignore.txt"
ENTRY = re.compile(r"^(\S+)\s+(\d{4}-\d{2}-\d{2})\s+(\S.*)$")
# What pip-audit says when it cannot ask the service about a package.
UNAUDITED = ("could not be audited", "not found on PyPI")
NETWORK_TROUBLE = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries",
                   "Name or service not known", "Temporary failure in name resolution",
                   "timed out", "Connection refused", "Network is unreachable")


@dataclass(frozen=True)
class Accepted:
    """A vulnerability accepted until a date, for a reason."""

    vulnerability: str
    until: date
    reason: str


def read_ignore_file(text: str) -> list[Accepted]:
    """Return the accepted vulnerabilities; a line without a date and a reason is an error."""
    accepted = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        found = ENTRY.match(line)
        if not found:
            raise ValueError(f"audit-ignore.txt line {number}: write `ID YYYY-MM-DD reason`")
        accepted.append(Accepted(found[1], date.fromisoformat(found[2]), found[3].strip()))
    return accepted


@dataclass(frozen=True)
class Verdict:
    """What one scan found: the lines to print, and whether it fails."""

    lines: list[str]
    fails: bool
    unreachable: bool


def judge(report: dict, accepted: list[Accepted], today: date) -> Verdict:
    """Read pip-audit's JSON report against the accepted vulnerabilities."""
    still = {entry.vulnerability: entry for entry in accepted if entry.until >= today}
    lapsed = {entry.vulnerability for entry in accepted if entry.until < today}
    lines, fails = [], False
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    unaudited = [d for d in skipped if any(t in d["skip_reason"] for t in UNAUDITED)]
    for dependency in dependencies:
        for vulnerability in dependency.get("vulns", []):
            names = [vulnerability["id"], *vulnerability.get("aliases", [])]
            where = f"{dependency['name']}=={dependency['version']}: {', '.join(names)}"
            fixed = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed version"
            kept = next((still[name] for name in names if name in still), None)
            if kept is not None:
                lines.append(f"accepted until {kept.until}: {where} ({kept.reason})")
                continue
            fails = True
            note = " (its acceptance has lapsed)" if lapsed.intersection(names) else ""
            lines.append(f"VULNERABLE: {where}; fixed in {fixed}{note}")
    audited = len(dependencies) - len(skipped)
    unreachable = bool(dependencies) and len(unaudited) == len(dependencies)
    if unaudited and not unreachable:
        lines += [f"not audited: {d['name']} ({d['skip_reason']})" for d in unaudited]
    if not unreachable:
        found = sum(len(d.get("vulns", [])) for d in dependencies)
        lines.append(f"{audited} packages audited, {found} known vulnerabilities, "
                     f"{'failing' if fails else 'none unaccepted'}")
    return Verdict(lines, fails, unreachable)


def shout(message: str) -> None:
    bar = "!" * 78
    print(f"{bar}\n!! {message}\n{bar}", file=sys.stderr)


def main(argv: list[str]) -> int:
    lock = argv[1] if len(argv) > 1 else str(HERE / "app.lock")
    accepted = read_ignore_file(IGNORE_FILE.read_text()) if IGNORE_FILE.exists() else []
    pip_audit = Path(sys.executable).with_name("pip-audit")
    run = subprocess.run(
        [str(pip_audit), "-r", lock, "--require-hashes", "--disable-pip",
         "--vulnerability-service", "pypi", "--format", "json", "--progress-spinner", "off",
         "--timeout", "10"],
        capture_output=True, text=True, check=False,
    )
    strict = os.environ.get("AUDIT_STRICT") == "1"
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        if any(sign in run.stderr for sign in NETWORK_TROUBLE):
            shout("VULNERABILITY SCAN NOT DONE: PyPI's advisory service could not be reached")
            return 1 if strict else 0
        print(run.stderr, file=sys.stderr)
        print("pip-audit failed before it could scan the lock file", file=sys.stderr)
        return 1
    verdict = judge(report, accepted, date.today())
    if verdict.unreachable:
        shout("VULNERABILITY SCAN NOT DONE: PyPI's advisory service answered for no package "
              f"of {lock}; scan again when it can be reached")
        return 1 if strict else 0
    print("\n".join(verdict.lines))
    return 1 if verdict.fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
