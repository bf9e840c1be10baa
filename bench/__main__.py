"""Run every benchmark of survey_app in one go: `python -m bench [--quick] [--only PART ...]`.

The parts run one after another, each bounded in time and on the loopback interface only:

- load     the survey page and its submission under gunicorn, against the bare stack, and
           the workers' peak memory (bench/load.py)
- tallies  the dashboard's tallies over 1, 3 and 10 million responses, against a plain
           GROUP BY, on PostgreSQL and SQLite (bench/tallies.py)
- browser  the survey page's weight and its Lighthouse mobile scores (bench/browser.py)
- qr       a printable sheet of 48 QR codes, cold and cached (bench/qr.py)

A full run writes bench/results/latest.json and the report docs/performance.md (with its
chart, docs/performance-tallies.svg); a quick run (1 million responses, shorter phases)
writes bench/results/quick.json and bench/results/quick.md and leaves the docs alone. A
part that fails is recorded with its error and the others still run; the exit status is
then 1.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, report

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "bench" / "results"
PARTS = ("load", "tallies", "browser", "qr")


def _runner(part: str) -> Callable[..., dict[str, Any]]:
    module = __import__(f"bench.{part}", fromlist=["run"])
    run: Callable[..., dict[str, Any]] = module.run
    return run


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 million responses and shorter load phases (under 5 minutes)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        help="run only these parts")
    args = parser.parse_args(argv)
    # A stopped run (SIGTERM) unwinds like Ctrl+C: every server and database it started is
    # stopped and dropped on the way out.
    signal.signal(signal.SIGTERM, _stop)

    def log(line: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)

    command = "make bench-quick" if args.quick else "make bench"
    name = "quick" if args.quick else "latest"
    json_path = RESULTS / f"{name}.json"
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "command": command,
        "machine": machine.describe(),
        "parts": {},
    }
    if args.only != list(PARTS):
        # Some parts only: their figures replace those of the last run, the others stay.
        command = f"python -m bench{' --quick' if args.quick else ''} --only {' '.join(args.only)}"
        if json_path.exists():
            results = json.loads(json_path.read_text("utf-8"))
            results["command"] = f"{results['command']}, then {command}"
        else:
            results["command"] = command
    started = time.monotonic()
    failed = False
    for part in args.only:
        log(f"== {part}")
        part_started = time.monotonic()
        try:
            outcome = _runner(part)(quick=args.quick, log=log)
        except Exception as error:  # one part failing must not lose the others' figures
            failed = True
            outcome = {"error": f"{error.__class__.__name__}: {error}",
                       "traceback": traceback.format_exc(limit=8)}
            log(f"{part} failed: {outcome['error']}")
        outcome["part_seconds"] = round(time.monotonic() - part_started, 1)
        outcome["run_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        results["parts"][part] = outcome
        log(f"{part} took {outcome['part_seconds']} s")
    if args.only == list(PARTS):
        results["seconds"] = round(time.monotonic() - started, 1)
    else:
        results["seconds"] = round(sum(p.get("part_seconds", 0) for p in
                                       results["parts"].values()), 1)

    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if args.quick:
        markdown_path = RESULTS / "quick.md"
        markdown_path.write_text(report.render(results, chart_name=None), "utf-8")
    else:
        markdown_path = PROJECT_ROOT / "docs" / "performance.md"
        chart_path = PROJECT_ROOT / "docs" / "performance-tallies.svg"
        chart_path.write_text(report.tallies_chart(results), "utf-8")
        markdown_path.write_text(report.render(results, chart_name=chart_path.name), "utf-8")
    log(f"wrote {json_path.relative_to(PROJECT_ROOT)} and "
        f"{markdown_path.relative_to(PROJECT_ROOT)} in {results['seconds']} s")
    print(report.summary(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
