"""Where a survey request's time goes: a profile of the form and of a submission.

Runs in this process on the load benchmark's PostgreSQL database, through Flask's test
client (no HTTP server: what is left is the app's own work and its database round trips).
For each kind of request: wall and CPU milliseconds per request, SQL statements per
request, and cProfile's heaviest functions by cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import time
from contextlib import contextmanager
from html import unescape
from typing import Any

from sqlalchemy import event

from bench.load import ANSWERS, SECRET_KEY

REQUESTS = 200
WARM_UP = 20


@contextmanager
def _environment(settings: dict[str, str]) -> Any:
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page
    )
    if not found:
        raise RuntimeError(f"no {name} in the form")
    return unescape(found.group(1))


def _top(profile: cProfile.Profile, requests: int, limit: int = 14) -> list[dict[str, Any]]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in (
        stats.stats.items()  # type: ignore[attr-defined]
    ):
        short = re.sub(r"^.*?/(site-packages|survey_app)/", r"\1/", filename)
        short = short.replace("site-packages/", "")
        rows.append({
            "function": f"{short}:{line}({function})",
            "calls_per_request": round(calls / requests, 1),
            "cumulative_ms": round(cumulative / requests * 1000, 3),
            "own_ms": round(own / requests * 1000, 3),
        })
    interesting = [r for r in rows if "survey_app/" in r["function"]
                   or "psycopg" in r["function"] or "limits/" in r["function"]
                   or "wtforms" in r["function"] or "jinja2" in r["function"]]
    interesting.sort(key=lambda r: r["cumulative_ms"], reverse=True)
    return interesting[:limit]


def profile(url: str, code: str) -> dict[str, Any]:
    """Profile REQUESTS readings of the form and REQUESTS submissions of it."""
    settings = {
        "APP_ENV": "development", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": url,
        # The served app's settings (bench/load.py): every post comes from one address.
        "MIN_SECONDS_TO_ANSWER": "0", "BURST_PER_CODE_10_MIN": "0",
        "ADDRESS_PER_CODE_10_MIN": "0", "ADDRESS_PER_CODE_HOUR": "0",
        "RATELIMIT_PER_DEVICE": "1000000 per hour", "RATELIMIT_PER_CODE": "1000000 per hour",
        "RATELIMIT_PER_ADDRESS": "1000000 per hour",
    }
    with _environment(settings):
        from survey_app import create_app
        from survey_app.extensions import db

        app = create_app()
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    with app.app_context():
        engine = db.engine_for(app)
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", count)

    def forms(n: int) -> list[tuple[Any, dict[str, Any]]]:
        made = []
        for _ in range(n):
            phone = app.test_client()
            page = phone.get(f"/s/{code}").get_data(as_text=True)
            data: dict[str, Any] = {}
            for key, value in ANSWERS:
                data.setdefault(key, []).append(value)
            data.update(csrf_token=_hidden(page, "csrf_token"),
                        submit_token=_hidden(page, "submit_token"))
            made.append((phone, data))
        return made

    def measure(requests: list[Any]) -> dict[str, Any]:
        """Time the requests (half of them), then profile the other half."""
        nonlocal statements
        timed, profiled = requests[: len(requests) // 2], requests[len(requests) // 2 :]
        statements = 0
        wall, cpu = time.perf_counter(), time.process_time()
        answers = [send() for send in timed]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        per_request = statements / len(timed)
        profiler = cProfile.Profile()
        profiler.enable()
        answers += [send() for send in profiled]
        profiler.disable()
        return {
            "requests": len(timed),
            "answers": sorted(set(answers)),
            "wall_ms": round(wall / len(timed) * 1000, 3),
            "cpu_ms": round(cpu / len(timed) * 1000, 3),
            "sql_statements": round(per_request, 2),
            "top": _top(profiler, len(profiled)),
        }

    results: dict[str, Any] = {}
    for _ in range(WARM_UP):  # reading the form as new phones do
        app.test_client().get(f"/s/{code}")
    results["page"] = measure(
        [lambda: app.test_client().get(f"/s/{code}").status_code] * (2 * REQUESTS)
    )
    for phone, data in forms(WARM_UP):
        phone.post(f"/s/{code}", data=data)
    results["submit"] = measure([
        lambda phone=phone, data=data: phone.post(f"/s/{code}", data=data).status_code
        for phone, data in forms(2 * REQUESTS)
    ])
    for kind in ("page", "submit"):
        expected = 200 if kind == "page" else 303
        if results[kind]["answers"] != [expected]:
            raise RuntimeError(f"profiled {kind} requests answered {results[kind]['answers']}")
    event.remove(engine, "before_cursor_execute", count)
    event.remove(engine, "commit", count)
    engine.dispose()
    results["note"] = (
        "In process through Flask's test client: wall and CPU per request timed without "
        "the profiler; the functions' times come from as many more requests under cProfile "
        "(which slows Python code down); SQL statements count each execute and each commit."
    )
    return results
