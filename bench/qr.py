"""How long a printable sheet of 48 QR codes takes to render, cold and cached.

Counter staff open `/agencies/<id>/codes/sheet` (signed in, staff of the agency) and print
it. The sheet is HTML of cut-out cards, six per A4 page, and each card's QR is a separate
image, `<img src="/s/<code>/qr.svg">`, rendered by survey_app.services.qr and kept in that module's
in-memory LRU caches (per worker process), then sent with a strong ETag and a day's
`max-age`. So the full cost of a sheet is the HTML plus 48 image requests, and "cold" means
a worker whose caches are empty: a freshly started one.

An agency with 48 active codes (on 24 counters, sectors in turn) and one staff account are
made in a throw-away SQLite database; gunicorn serves the app with ONE worker, so that
"cached" means the very worker that has already rendered the sheet, and a restart means
empty caches. The staff member signs in through the real sign-in form.

Measured over HTTP on the loopback interface, one request after another (the sum of the
server's work; a browser fetches in parallel but one sync worker answers one at a time):

- cold: a freshly started gunicorn for each run (its worker has imported the app and
  answered one /healthz, as a deployed worker has; the staff member signs in, which
  renders no QR), then the sheet and its 48 images;
- cached: the same requests again on that worker, every QR from the cache;
- revalidated: the 48 images asked with If-None-Match, answered 304 without rendering
  (what a browser does after the day of `max-age`; within it, it asks nothing).

In-process, the renderer alone: survey_app.services.qr.qr_svg for the 48 addresses with its caches
cleared, then cached. In Chromium (Debian's, through Playwright): the sheet opened until
its `load` event (every image decoded), cold after a restart and cached, each in a new
browser context so the browser's own cache is empty; then printing it to an A4 PDF with
`page.pdf`, which is what staff actually do (Ctrl+P). Chromium opens several connections
at once, and one sync worker with no nginx in front answers them one at a time, so its
load times here are slower than both the sequential fetches and a real deployment.

When the cold sheet takes more than SLOW_MS, a fresh app renders it under cProfile in this
process and the functions that dominate are listed.

`run()` returns::

    {
      "codes": 48, "pages": 8, "workers": 1, "counted": str,
      "http_ms": {
        "cold":   {"runs": int, "sheet": float, "images": float, "total": float},  # medians
        "cached": {...same keys...},
        "revalidated": {"runs": int, "images": float},
      },
      "bytes": {"sheet_html": int, "images": int, "per_image": int},
      "renderer_ms": {"qr_svg_48_cold": float, "qr_svg_48_cached": float},
      "chromium_ms": {                     # or {"skipped": reason}
        "load_cold": float, "load_cached": float, "pdf": float, "pdf_bytes": int, "runs": int,
      },
      "profile": {                         # only when the cold sheet is slow, never when quick
        "total_ms": float,
        "by_cumulative": [{"function", "calls", "own_ms", "cumulative_ms"}],  # app, qrcode
        "by_own_time": [...same keys...],
      },
      "seconds": float,
    }

Run alone: `python -m bench.qr [--quick]` prints that JSON.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import time
from collections.abc import Callable
from html import unescape
from typing import Any, TypeVar

import requests
from flask import Flask

from bench.live_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROJECT_ROOT,
    Gunicorn,
    gunicorn,
    make_app,
    median,
    run_alone,
    throwaway_database,
)

CODES = 48
CARDS_PER_PAGE = 6
STAFF_EMAIL = "canbo.in@bench.example"
STAFF_PASSWORD = "mat-khau-do-hieu-nang-1"
AGENCY_CODE = "BENCH-QR"
AGENCY_NAME = "Trung tâm Phục vụ hành chính công tỉnh"

COLD_RUNS, CACHED_RUNS, CHROMIUM_RUNS = 5, 5, 2
QUICK_COLD_RUNS, QUICK_CACHED_RUNS, QUICK_CHROMIUM_RUNS = 1, 3, 1
# Seconds the whole benchmark should take. Each cold run restarts gunicorn (a few seconds
# on a busy machine), so cold runs stop early once another would leave less than
# RESERVE_SECONDS for the rest.
BUDGET_SECONDS = 55.0
RESERVE_SECONDS = 35.0
SLOW_MS = 1000.0
REQUEST_TIMEOUT = (5, 30)

PAGE_TIMEOUT_MS = 30_000

IMAGE_SRC = re.compile(r'<img[^>]*\bsrc="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*\bvalue="([^"]+)"')

Log = Callable[[str], None]
T = TypeVar("T")


# The agency, its codes and its staff -----------------------------------------------------


def _make_agency(app: Flask, found: dict[str, Any]) -> None:
    """Create the sectors, an agency with CODES active codes and one staff member."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Agency, Sector
    from survey_app.services.accounts import create_user
    from survey_app.services.counters import find_or_create_counter, issue_code
    from survey_app.services.seed import seed_sectors

    with app.app_context():
        session = db.session
        seed_sectors(session)
        agency = Agency(code=AGENCY_CODE, name=AGENCY_NAME, level="province")
        session.add(agency)
        session.flush()
        sectors = list(session.scalars(select(Sector).order_by(Sector.position)))
        for n in range(CODES):
            counter = find_or_create_counter(session, agency, f"Quầy {n // 2 + 1}")
            issue_code(session, agency, counter, sectors[n % len(sectors)])
        create_user(session, STAFF_EMAIL, STAFF_PASSWORD, "staff", agency)
        session.commit()
        found["agency_id"] = agency.id


def _sign_in(post: Callable[..., Any], get: Callable[..., Any]) -> None:
    """Sign in through the sign-in form with whichever client `get` and `post` belong to."""
    form = get("/login")
    match = CSRF_INPUT.search(form)
    if match is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    final_path = post(
        "/login",
        {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": unescape(match[1])},
    )
    if final_path.startswith("/login"):
        raise RuntimeError("the staff member could not sign in")


# Over HTTP -----------------------------------------------------------------------------


class Client:
    """A signed-in staff member's HTTP session against the served app."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.http = requests.Session()

        def get(path: str) -> str:
            answer = self.http.get(server.url + path, timeout=REQUEST_TIMEOUT)
            answer.raise_for_status()
            return answer.text

        def post(path: str, data: dict[str, str]) -> str:
            answer = self.http.post(server.url + path, data=data, timeout=REQUEST_TIMEOUT)
            answer.raise_for_status()
            return str(requests.utils.urlparse(answer.url).path)

        _sign_in(post, get)

    def close(self) -> None:
        self.http.close()

    def sheet(self, path: str) -> dict[str, Any]:
        """Fetch the sheet, then each image it shows, one after another; time both."""
        started = time.perf_counter()
        answer = self.http.get(self.server.url + path, timeout=REQUEST_TIMEOUT)
        sheet_done = time.perf_counter()
        answer.raise_for_status()
        sources = [unescape(src) for src in IMAGE_SRC.findall(answer.text)]
        if len(sources) != CODES:
            raise RuntimeError(f"the sheet shows {len(sources)} images, not {CODES}")
        image_bytes, etags = 0, []
        for src in sources:
            image = self.http.get(self.server.url + src, timeout=REQUEST_TIMEOUT)
            image.raise_for_status()
            image_bytes += len(image.content)
            etags.append((src, image.headers["ETag"]))
        done = time.perf_counter()
        return {
            "sheet": (sheet_done - started) * 1000,
            "images": (done - sheet_done) * 1000,
            "total": (done - started) * 1000,
            "sheet_bytes": len(answer.content),
            "image_bytes": image_bytes,
            "etags": etags,
        }

    def revalidate(self, etags: list[tuple[str, str]]) -> float:
        """Ask for every image again with its ETag; return the milliseconds all 48 took."""
        started = time.perf_counter()
        for src, etag in etags:
            answer = self.http.get(
                self.server.url + src, headers={"If-None-Match": etag}, timeout=REQUEST_TIMEOUT
            )
            if answer.status_code != 304:
                raise RuntimeError(f"{src} answered {answer.status_code} to a revalidation")
        return (time.perf_counter() - started) * 1000


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {"runs": len(runs)}
    for key in ("sheet", "images", "total"):
        result[key] = round(median([run[key] for run in runs]), 1)
    return result


def over_http(
    server: Gunicorn, path: str, cold_runs: int, cached_runs: int, deadline: float, log: Log
) -> dict[str, Any]:
    """Time the sheet and its images cold (after each restart), cached and revalidated.

    Cold runs stop early (after at least one) when another would end past `deadline`.
    """
    cold: list[dict[str, Any]] = []
    cached: list[dict[str, Any]] = []
    revalidated: list[float] = []
    last: dict[str, Any] = {}
    started = time.monotonic()
    for n in range(cold_runs):
        per_run = (time.monotonic() - started) / n if n else 0.0
        is_last = n == cold_runs - 1 or time.monotonic() + 2 * per_run > deadline
        if n:
            # The first run needs none: the server has just started and answered /healthz.
            server.restart()
        client = Client(server)  # signing in renders no QR
        try:
            last = client.sheet(path)
            cold.append(last)
            log(f"cold run {n + 1}/{cold_runs}: {last['total']:.0f} ms")
            if is_last:
                for _ in range(cached_runs):
                    cached.append(client.sheet(path))
                for _ in range(max(cached_runs // 3, 1)):
                    revalidated.append(client.revalidate(last["etags"]))
        finally:
            client.close()
        if is_last:
            break
    result = {
        "cold": _medians(cold),
        "cached": _medians(cached),
        "revalidated": {
            "runs": len(revalidated),
            "images": round(median(revalidated), 1),
        },
    }
    log(
        f"sheet of {CODES} over HTTP: cold {result['cold']['total']:.0f} ms, "
        f"cached {result['cached']['total']:.0f} ms, "
        f"revalidated images {result['revalidated']['images']:.0f} ms"
    )
    result["bytes"] = {
        "sheet_html": last["sheet_bytes"],
        "images": last["image_bytes"],
        "per_image": last["image_bytes"] // CODES,
    }
    return result


# In process ------------------------------------------------------------------------------


def survey_addresses(app: Flask) -> list[str]:
    """Return the survey address of every code of the agency, as the QR encodes it."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Agency, SurveyCode
    from survey_app.services.codes import survey_url

    with app.app_context():
        codes = db.session.scalars(
            select(SurveyCode.code).join(Agency).where(Agency.code == AGENCY_CODE)
        )
        return [survey_url(code) for code in codes]


def renderer(app: Flask) -> dict[str, float]:
    """Time services.qr.qr_svg alone for the 48 addresses, caches cleared, then cached."""
    from survey_app.services import qr

    urls = survey_addresses(app)
    qr.qr_svg.cache_clear()
    qr.qr_matrix.cache_clear()
    started = time.perf_counter()
    for url in urls:
        qr.qr_svg(url)
    cold = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for url in urls:
        qr.qr_svg(url)
    cached = (time.perf_counter() - started) * 1000
    return {"qr_svg_48_cold": round(cold, 1), "qr_svg_48_cached": round(cached, 2)}


def _where(filename: str, line: int, name: str) -> str:
    """Name a profiled function by its module path, without the machine's directories."""
    for marker in ("site-packages/", f"{PROJECT_ROOT}/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return f"{filename}:{line}({name})"


def profile_cold_sheet(app: Flask, path: str, top: int = 8) -> dict[str, Any]:
    """Render the sheet and its images with empty caches under cProfile; say what dominates.

    `app` must be fresh (no request served yet), as a new worker's is. Returns the total,
    the functions of the app and of qrcode with the most cumulative time (the framework's
    wrappers around every request say nothing), and those with the most time of their own.
    """
    from survey_app.services import qr

    qr.qr_svg.cache_clear()
    qr.qr_matrix.cache_clear()
    client = app.test_client()

    def get(p: str) -> str:
        return client.get(p).get_data(as_text=True)

    def post(p: str, data: dict[str, str]) -> str:
        return client.post(p, data=data, follow_redirects=True).request.path

    _sign_in(post, get)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    page = client.get(path)
    for src in IMAGE_SRC.findall(page.get_data(as_text=True)):
        client.get(unescape(src))
    profiler.disable()
    total = (time.perf_counter() - started) * 1000
    # pstats keeps (primitive calls, calls, own time, cumulative time, callers) per function.
    entries = list(pstats.Stats(profiler).stats.items())  # type: ignore[attr-defined]

    def row(entry: Any) -> dict[str, Any]:
        (filename, line, name), (_primitive, calls, own, cumulative, _callers) = entry
        return {
            "function": _where(filename, line, name),
            "calls": calls,
            "own_ms": round(own * 1000, 1),
            "cumulative_ms": round(cumulative * 1000, 1),
        }

    ours = [e for e in entries if any(p in e[0][0] for p in ("survey_app/", "/qrcode/"))]
    return {
        "total_ms": round(total, 1),
        "by_cumulative": [row(e) for e in sorted(ours, key=lambda e: -e[1][3])[:top]],
        "by_own_time": [row(e) for e in sorted(entries, key=lambda e: -e[1][2])[:top]],
    }


# In Chromium -----------------------------------------------------------------------------


def in_chromium(
    server: Gunicorn, path: str, runs: int, with_cold: bool, log: Log
) -> dict[str, Any]:
    """Open the sheet in Chromium until every image has loaded, cold then cached; print it.

    The cold load (after a restart) is left out when `with_cold` is false.
    """
    if not os.path.exists(CHROMIUM):
        return {"skipped": f"Chromium not found at {CHROMIUM}"}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(server.url + "/login")
            page.fill("#email", STAFF_EMAIL)
            page.fill("#password", STAFF_PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            state = context.storage_state()
            context.close()

            def load_once() -> tuple[float, Any, Any]:
                # A new context each time: the browser's own cache is empty.
                fresh = browser.new_context(
                    viewport={"width": 1280, "height": 900}, storage_state=state
                )
                tab = fresh.new_page()
                tab.set_default_timeout(PAGE_TIMEOUT_MS)
                started = time.perf_counter()
                answer = tab.goto(server.url + path, wait_until="load")
                elapsed = (time.perf_counter() - started) * 1000
                if answer is None or answer.status != 200:
                    raise RuntimeError(f"the sheet answered {answer.status if answer else '-'}")
                loaded = tab.locator("img.card-qr").evaluate_all(
                    "images => images.filter(i => i.complete && i.naturalWidth > 0).length"
                )
                if loaded != CODES:
                    raise RuntimeError(f"{loaded} of {CODES} QR images loaded in Chromium")
                return elapsed, fresh, tab

            cold: float | None = None
            if with_cold:
                server.restart()
                cold, fresh, tab = load_once()
                fresh.close()
            loads, prints, pdf_bytes = [], [], 0
            for _ in range(runs):
                elapsed, fresh, tab = load_once()
                loads.append(elapsed)
                started = time.perf_counter()
                pdf = tab.pdf(format="A4", print_background=True, prefer_css_page_size=True)
                prints.append((time.perf_counter() - started) * 1000)
                pdf_bytes = len(pdf)
                fresh.close()
        finally:
            browser.close()
    result = {
        "runs": runs,
        "load_cold": round(cold, 1) if cold is not None else None,
        "load_cached": round(median(loads), 1),
        "pdf": round(median(prints), 1),
        "pdf_bytes": pdf_bytes,
    }
    log(
        f"sheet in Chromium: load cold {result['load_cold']} ms, "
        f"cached {result['load_cached']:.0f} ms, print to PDF {result['pdf']:.0f} ms"
    )
    return result


# Entry points ----------------------------------------------------------------------------


def _with_app(url: str, public_base_url: str, use: Callable[[Flask], T]) -> T:
    """Call `use` with a fresh app on the database; close its connections afterwards."""
    from survey_app.extensions import db

    app = make_app(url, public_base_url=public_base_url)
    try:
        return use(app)
    finally:
        db.engine_for(app).dispose()


def run(*, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Time the 48-code sheet cold and cached; see the module docstring."""
    started = time.monotonic()
    found: dict[str, Any] = {}
    result: dict[str, Any] = {
        "codes": CODES,
        "pages": -(-CODES // CARDS_PER_PAGE),
        "workers": 1,
        "counted": f"the sheet's HTML and its {CODES} SVG images, fetched one after another",
    }
    with (
        throwaway_database(lambda app: _make_agency(app, found)) as database,
        gunicorn(database, workers=1) as server,
    ):
        path = f"/agencies/{found['agency_id']}/codes/sheet"
        http = over_http(
            server,
            path,
            QUICK_COLD_RUNS if quick else COLD_RUNS,
            QUICK_CACHED_RUNS if quick else CACHED_RUNS,
            started + BUDGET_SECONDS - RESERVE_SECONDS,
            log,
        )
        result["bytes"] = http.pop("bytes")
        result["http_ms"] = http
        result["renderer_ms"] = _with_app(database.url, server.url, renderer)
        result["chromium_ms"] = in_chromium(
            server, path, QUICK_CHROMIUM_RUNS if quick else CHROMIUM_RUNS, not quick, log
        )
        if not quick and http["cold"]["total"] > SLOW_MS:
            log(f"cold sheet over {SLOW_MS:.0f} ms: profiling it in a fresh app")
            result["profile"] = _with_app(
                database.url, server.url, lambda app: profile_cold_sheet(app, path)
            )
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def main() -> None:
    run_alone(run, "python -m bench.qr", "Time a printable sheet of 48 QR codes.", "fewer runs")


if __name__ == "__main__":
    main()
