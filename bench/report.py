"""Turn a benchmark run's results into the Markdown report and the tallies chart.

The report is rebuilt from bench/results/*.json on every run; what cannot be measured (why
a target is missed, what the profile shows) is written by hand in bench/analysis.md and
included as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

ANALYSIS = Path(__file__).with_name("analysis.md")

PAGE_RATIO = 0.8
SUBMIT_RATIO = 0.6
SUBMIT_P99_MS = 50.0
TALLY_RATIO = 0.1
TALLY_MS = 100.0
TALLY_GROWTH = 1.5
PAGE_BYTES = 30 * 1024
LIGHTHOUSE_PERFORMANCE = 0.95
LIGHTHOUSE_ACCESSIBILITY = 1.0


# Helpers ---------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) < 1:
            return f"{value:.3f}"
        if abs(value) < 100:
            return f"{value:.{max(digits, 2)}f}"
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _met(is_met: bool | None) -> str:
    if is_met is None:
        return "not measured"
    return "**met**" if is_met else "**not met**"


def _part(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    part = results.get("parts", {}).get(name)
    if not part or "error" in part or "skipped" in part:
        return None
    return dict(part)


def _failure(results: dict[str, Any], name: str) -> str | None:
    part = results.get("parts", {}).get(name)
    if part is None:
        return "not run"
    if "error" in part:
        return f"failed: `{part['error']}`"
    if "skipped" in part:
        return f"skipped: {part['skipped']}"
    return None


# Targets ---------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Return (target, wanted, measured, met) for every target of the issue."""
    rows: list[tuple[str, str, str, bool | None]] = []
    load = _part(results, "load")
    if load:
        page, submit, at_rate = load["page"], load["submit"], load["submit_at_rate"]
        rows.append(("Survey page: survey_app ÷ bare Flask, requests/s", f"≥ {PAGE_RATIO}",
                     f"{page['ratio']:.2f} ({page['app']['rps']:,.0f} ÷ "
                     f"{page['bare']['rps']:,.0f})", page["ratio"] >= PAGE_RATIO))
        rows.append(("Submission: survey_app ÷ bare Flask + SQLAlchemy insert, requests/s",
                     f"≥ {SUBMIT_RATIO}", f"{submit['ratio']:.2f} ({submit['app']['rps']:,.0f}"
                     f" ÷ {submit['bare']['rps']:,.0f})", submit["ratio"] >= SUBMIT_RATIO))
        if "floor" in submit:
            rows.append(("Submission floor (survey_app's statements alone) ÷ bare insert, "
                         "requests/s", "no target", f"{submit['floor_ratio']:.2f} "
                         f"({submit['floor']['rps']:,.0f} ÷ {submit['bare']['rps']:,.0f})", None))
        rows.append((f"Submission p99 at {at_rate['rate']} per second, 2 sync workers",
                     f"≤ {SUBMIT_P99_MS:.0f} ms", f"{at_rate['p99_ms']:.1f} ms",
                     at_rate["p99_ms"] <= SUBMIT_P99_MS))
        default = load.get("submit_at_rate_default_workers")
        if default:
            rows.append((f"Submission p99 at {default['rate']} per second, "
                         f"{default['workers']} sync workers (the default)",
                         f"≤ {SUBMIT_P99_MS:.0f} ms", f"{default['p99_ms']:.1f} ms",
                         default["p99_ms"] <= SUBMIT_P99_MS))
    rows += tally_targets(results)
    browser = _part(results, "browser")
    if browser:
        weight = browser["page_weight"]
        total = weight["total"]["body"]
        rows.append(("Survey page weight (HTML + CSS + JS + images)", f"≤ {PAGE_BYTES:,} B",
                     f"{total:,} B", total <= PAGE_BYTES))
        lighthouse = browser.get("lighthouse", {})
        survey = lighthouse.get("survey")
        if survey:
            scores = survey["scores"]
            rows.append(("Lighthouse mobile performance (survey page)",
                         f"≥ {LIGHTHOUSE_PERFORMANCE}", f"{scores['performance']:.2f}",
                         scores["performance"] >= LIGHTHOUSE_PERFORMANCE))
            rows.append(("Lighthouse accessibility (survey page)",
                         f"= {LIGHTHOUSE_ACCESSIBILITY}", f"{scores['accessibility']:.2f}",
                         scores["accessibility"] >= LIGHTHOUSE_ACCESSIBILITY))
    return rows


def tally_targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    tallies = _part(results, "tallies")
    if not tallies:
        return []
    rows: list[tuple[str, str, str, bool | None]] = []
    query_names = {"year": "a year, everything", "commune_quarter": "one commune, a quarter"}
    for check in tallies.get("targets", []):
        name = check["name"]
        if name.startswith("ratio"):
            label = f"Tallies ÷ plain GROUP BY, {name.removeprefix('ratio to plain GROUP BY ')}"
            measured = f"{check['value']:.3f}"
        elif name.startswith("app ms"):
            label = f"Tallies time {name.removeprefix('app ms ')}"
            measured = f"{check['value']:.1f} ms"
        else:
            label = f"Tallies {name}"
            measured = f"{check['value']:.2f}×"
        rows.append((
            f"{label} ({check['database']}, {query_names.get(check['query'], check['query'])})",
            f"≤ {check['limit']:g}" + (" ms" if name.startswith("app ms") else ""),
            measured, check["met"],
        ))
    return rows


# The report ------------------------------------------------------------------------------


def render(results: dict[str, Any], chart_name: str | None) -> str:
    out: list[str] = []
    machine = results["machine"]
    out.append("# Performance\n")
    out.append(
        "Every figure below comes from one run of the benchmark suite, side by side with "
        "the bare limit of the same stack on the same machine in the same run, because "
        "absolute times on a shared machine drift. Regenerate this page with "
        "`make bench` (a quick check: `make bench-quick`).\n"
    )
    out.append(_table(["", ""], [
        ("Command", f"`{results['command']}`"),
        ("Run", f"{results['started_at']} ({results['mode']}, {results['seconds']:.0f} s in all)"),
        ("Commit", machine.get("commit")),
        ("Machine", f"{machine['cores']} cores ({machine['processor']}), "
                    f"{machine['memory_gib']} GiB memory, {machine['system']}"),
        ("Load average at start", ", ".join(f"{x:.2f}" for x in
                                            machine.get("load_average_at_start") or ())),
        ("Software", f"Python {machine['python']}, Flask {machine['flask']}, SQLAlchemy "
                     f"{machine['sqlalchemy']}, gunicorn {machine['gunicorn']}, psycopg "
                     f"{machine['psycopg']}, {machine['postgresql']}, SQLite "
                     f"{machine['sqlite']}, {(machine['wrk'] or 'wrk ?').split(' Copyright')[0]}, "
                     f"{machine['chromium']}"),
    ]))
    out.append("")
    out.append("## Targets\n")
    out.append(_table(["Target", "Wanted", "Measured", ""],
                      [(n, w, m, "—" if w == "no target" else _met(ok))
                       for n, w, m, ok in targets(results)]))
    out.append("")
    if ANALYSIS.exists():
        out.append(ANALYSIS.read_text("utf-8").strip() + "\n")
    out += _load_sections(results)
    out += _tallies_section(results, chart_name)
    out += _browser_section(results)
    out += _memory_section(results)
    out += _qr_section(results)
    return "\n".join(out).rstrip() + "\n"


def _phase_rows(phases: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [
        [name, p["requests"], p["rps"], p["p50_ms"], p["p90_ms"], p["p99_ms"], p["max_ms"],
         p["errors"] + p["non_2xx_3xx"]]
        for name, p in phases.items()
    ]


PHASE_HEADER = ["Server", "Requests", "Requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                "Errors"]


def _slices(server: dict[str, Any]) -> str:
    """Say how a phase was cut, when it was run in turns with the bare app."""
    slices = server.get("slices")
    if not slices:
        return ""
    return (f" run as {slices} slices, survey_app and the bare app in turn (percentiles: "
            f"the median of the slices')")


def _load_sections(results: dict[str, Any]) -> list[str]:
    out = ["## 1. Survey page\n"]
    load = _part(results, "load")
    if load is None:
        return out + [f"Not measured ({_failure(results, 'load')}).\n"]
    server = load["server"]
    out.append(
        f"`GET /s/<code>` as a new phone asks for it (no cookie: a new form cookie, CSRF token, "
        f"submit token and device cookie each time), {server['connections']} connections, "
        f"closed loop, {server['phase_seconds']} s per phase{_slices(server)}, "
        f"{server['load_tool']}; gunicorn "
        f"with {server['workers']} `{server['worker_class']}` workers "
        f"(gunicorn.conf.py; access log off for both servers), {server['database']}. The bare "
        f"app (bench/bare_app.py) answers the same {load['page']['bytes']:,} bytes from "
        f"memory.\n"
    )
    page = load["page"]
    out.append(_table(PHASE_HEADER, _phase_rows({"survey_app": page["app"],
                                                 "bare Flask": page["bare"]})))
    out.append(f"\nRatio of requests per second: **{page['ratio']:.2f}** (target ≥ "
               f"{PAGE_RATIO}).\n")
    out.append("## 2. Submission\n")
    submit, at_rate, checks = load["submit"], load["submit_at_rate"], load["checks"]
    out.append(
        "Forms rendered by survey_app over HTTP beforehand, one per submission (each with "
        "its own cookies and tokens), then posted once each with valid answers as fast as "
        "the server takes them; the bare app (Flask + SQLAlchemy Core) takes the same "
        "bodies and inserts one row of the responses table's width into the same "
        "PostgreSQL database, without survey_app's checks, tokens, rollups or limits.\n"
    )
    phases = {"survey_app": submit["app"], "bare Flask + SQLAlchemy": submit["bare"]}
    if "floor" in submit:
        out.append(
            "The floor is the bare app sending survey_app's own statements of a counted "
            "submission instead of its insert (bench/bare_app.py, `BARE_STATEMENTS=1`): the "
            "code's lookup with its lock, the check of the device's stored responses, the "
            "insert of the response, its wishes and its rollups, and the commit, with no "
            "validation, tokens or limits. It is what any app keeping the submission's rules "
            "on this database pays at the least; the three servers take turns.\n"
        )
        phases["floor: survey_app's statements alone"] = submit["floor"]
    out.append(_table(PHASE_HEADER, _phase_rows(phases)))
    out.append(f"\nRatio of requests per second: **{submit['ratio']:.2f}** (target ≥ "
               f"{SUBMIT_RATIO}). Stored by survey_app during the phase: "
               f"{checks['app_responses_stored']:,} responses for "
               f"{checks['app_posts_answered']:,} posts answered.\n")
    if "floor" in submit:
        out.append(f"The floor ÷ the bare insert: **{submit['floor_ratio']:.2f}**; survey_app "
                   f"÷ the floor: **{submit['app_to_floor']:.2f}**.\n")
    out.append(
        f"At a steady {at_rate['rate']} submissions per second (open loop, "
        f"{at_rate['requests']:,} fresh forms, latency counted from when each was due): "
        f"achieved {at_rate['achieved_rps']:.1f}/s, p50 {at_rate['p50_ms']:.1f} ms, p90 "
        f"{at_rate['p90_ms']:.1f} ms, **p99 {at_rate['p99_ms']:.1f} ms** (target ≤ "
        f"{SUBMIT_P99_MS:.0f} ms), max {at_rate['max_ms']:.1f} ms; answers "
        f"{', '.join(f'{k}: {v:,}' for k, v in at_rate['statuses'].items())}, connection "
        f"errors {at_rate['errors']}.\n"
    )
    out += _profile_section(load.get("profile"))
    default = load.get("submit_at_rate_default_workers")
    if default:
        out.append(
            f"The same steady {default['rate']} per second against the deployment's default, "
            f"gunicorn.conf.py's 2 × cores + 1 = {default['workers']} sync workers (one "
            f"worker's wait on the database leaves the cores to the others): achieved "
            f"{default['achieved_rps']:.1f}/s, p50 {default['p50_ms']:.1f} ms, p90 "
            f"{default['p90_ms']:.1f} ms, **p99 {default['p99_ms']:.1f} ms**, max "
            f"{default['max_ms']:.1f} ms; answers "
            f"{', '.join(f'{k}: {v:,}' for k, v in default['statuses'].items())}.\n"
        )
    out.append("")
    return out


def _memory_section(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    load = _part(results, "load")
    if load is None:
        return ["## 5. Memory\n", f"Not measured ({_failure(results, 'load')}).\n"]
    out.append("## 5. Memory\n")
    memory = load["memory"]
    out.append("Peak resident memory (VmHWM) at the end of each server's load phases.\n")
    out.append(_table(["Server", "Master MB", "Each worker MB"], [
        ["survey_app", memory["app"]["master_mb"],
         ", ".join(_fmt(w) for w in memory["app"]["workers_mb"])],
        ["bare Flask", memory["bare"]["master_mb"],
         ", ".join(_fmt(w) for w in memory["bare"]["workers_mb"])],
    ]))
    out.append("")
    return out


def _profile_section(profiled: dict[str, Any] | None) -> list[str]:
    if not profiled:
        return []
    out = ["### Profile of a request\n", profiled["note"] + "\n"]
    out.append(_table(["Request", "Wall ms", "CPU ms", "SQL statements"], [
        [name, profiled[key]["wall_ms"], profiled[key]["cpu_ms"],
         profiled[key]["sql_statements"]]
        for key, name in (("page", "GET /s/<code>"), ("submit", "POST /s/<code>"))
    ]))
    for key, name in (("page", "GET /s/<code>"), ("submit", "POST /s/<code>")):
        out.append(f"\nHeaviest functions of {name} (per request, under the profiler):\n")
        out.append(_table(["Function", "Calls", "Cumulative ms", "Own ms"], [
            [f"`{row['function']}`", row["calls_per_request"], row["cumulative_ms"],
             row["own_ms"]] for row in profiled[key]["top"]
        ]))
    out.append("")
    return out


def _tallies_section(results: dict[str, Any], chart_name: str | None) -> list[str]:
    out = ["## 3. Tallies at scale\n"]
    tallies = _part(results, "tallies")
    if tallies is None:
        return out + [f"Not measured ({_failure(results, 'tallies')}).\n"]
    out.append(
        "The dashboard's headline and sector table (`reports.build_report`: the rollup "
        "reads and the scoring, as a request makes them) for **a year over everything** "
        "(2026, 500 agencies) and for **one commune over a quarter** (2026 Q2, a commune of "
        "median traffic), against a plain `GROUP BY` over `responses` and "
        "`response_wishes` giving the same figures; the figures of the two are compared "
        "sector by sector and scope by scope. Data: 500 agencies, 24 sectors, 3,000 codes, "
        "responses over 2025–2026 in office hours with skewed traffic, bulk-loaded, then "
        "the rollups rebuilt with `rollups.rebuild_in_database` and the tables analysed. "
        "Medians; app over "
        f"{_first_runs(tallies)} runs after a warm-up.\n"
    )
    if chart_name:
        out.append(f"![Tallies time against the number of responses]({chart_name})\n")
    rows = []
    for kind, per_db in tallies["databases"].items():
        for size, measured in per_db["sizes"].items():
            for query, q in measured["queries"].items():
                rows.append([kind, f"{int(size) / 1e6:g} M", query, q["responses_in_scope"],
                             q["app_ms_median"], q["plain_group_by_ms_median"],
                             f"{q['ratio']:.3f}",
                             "equal" if q["figures_match"] else f"DIFFER: {q['first_difference']}"])
    out.append(_table(["Database", "Responses", "Query", "In scope", "Tallies ms",
                       "Plain GROUP BY ms", "Ratio", "Figures"], rows))
    out.append("")
    rows = []
    for kind, per_db in tallies["databases"].items():
        for size, measured in per_db["sizes"].items():
            rows.append([kind, f"{int(size) / 1e6:g} M", measured["load_s"],
                         measured["rollup_build_s"], measured["rollup_rows"]["tally_days"],
                         measured["rollup_rows"]["tally_months"],
                         measured["rollup_rows"].get("tally_years")])
    out.append(_table(["Database", "Responses", "Load s", "Rollup rebuild s", "Day rows",
                       "Month rows", "Year rows"], rows))
    explain = tallies["databases"].get("postgresql", {}).get("explain")
    if explain:
        out.append("\nPostgreSQL's plan of the year's rollup read at the largest size:\n")
        out.append("```\n" + explain.strip() + "\n```")
    out.append("")
    return out


def _first_runs(tallies: dict[str, Any]) -> str:
    for per_db in tallies["databases"].values():
        for measured in per_db["sizes"].values():
            for q in measured["queries"].values():
                return f"{q['app_runs']} (plain GROUP BY over {q['plain_runs']})"
    return "–"


def _chart_series(tallies: dict[str, Any]) -> list[dict[str, Any]]:
    series: list[dict[str, Any]] = []
    names = {"year": "year", "commune_quarter": "commune quarter"}
    for kind, per_db in tallies.get("databases", {}).items():
        for query in ("year", "commune_quarter"):
            app: list[list[float]] = []
            plain: list[list[float]] = []
            for size, measured in sorted(per_db["sizes"].items(), key=lambda i: int(i[0])):
                q = measured["queries"].get(query)
                if q:
                    app.append([int(size) / 1e6, q["app_ms_median"]])
                    plain.append([int(size) / 1e6, q["plain_group_by_ms_median"]])
            label = f"{kind} {names[query]}"
            colour = PALETTE[len(series) // 2 % len(PALETTE)]
            series.append({"name": f"{label}", "points": app, "colour": colour})
            series.append({"name": f"{label}, plain GROUP BY", "points": plain,
                           "dashed": True, "colour": colour})
    return series


def _browser_section(results: dict[str, Any]) -> list[str]:
    out = ["## 4. Page weight and browser scores\n"]
    browser = _part(results, "browser")
    if browser is None:
        return out + [f"Not measured ({_failure(results, 'browser')}).\n"]
    weight = browser["page_weight"]
    compression = (
        "compressed" if weight["compressed"]
        else "gunicorn does not compress; nginx does in production, so a phone gets less"
    )
    out.append(
        "The survey page opened in Chromium on a 360 × 740 viewport with an empty cache; "
        f"every response counted ({compression}).\n"
    )
    out.append(_table(["Type", "Files", "Body bytes", "Transferred bytes"], [
        [kind, v["count"], v["body"], v["transferred"]] for kind, v in weight["by_type"].items()
    ] + [["**total**", sum(v["count"] for v in weight["by_type"].values()),
          weight["total"]["body"], weight["total"]["transferred"]]]))
    out.append("")
    lighthouse = browser.get("lighthouse", {})
    if "skipped" in lighthouse or "survey" not in lighthouse:
        out.append(f"Lighthouse: {lighthouse.get('skipped', 'not run')}.\n")
        return out
    out.append(
        f"Lighthouse {lighthouse['version']} with its mobile defaults (simulated slow 4G, "
        f"4× CPU slowdown), median of {lighthouse['runs']} runs on the survey page:\n"
    )
    rows = []
    for name in ("survey", "thanks"):
        scored = lighthouse.get(name)
        if not scored:
            continue
        s, m = scored["scores"], scored["metrics"]
        rows.append([f"/s/<code>{'/thanks' if name == 'thanks' else ''}",
                     s["performance"], s["accessibility"], s["best-practices"], s["seo"],
                     m["fcp_ms"], m["lcp_ms"], m["tbt_ms"], m["cls"], m["speed_index_ms"]])
    out.append(_table(["Page", "Performance", "Accessibility", "Best practices", "SEO",
                       "FCP ms", "LCP ms", "TBT ms", "CLS", "Speed index ms"], rows))
    failing = lighthouse["survey"].get("failing") or {}
    listed = [f"{category}: {a['id']} ({a['title']})"
              for category, audits in failing.items() for a in audits]
    if listed:
        out.append("\nAudits below full marks on the survey page: " + "; ".join(listed) + ".\n")
    else:
        out.append("")
    return out


def _qr_section(results: dict[str, Any]) -> list[str]:
    out = ["## 6. QR sheet of 48 codes\n"]
    qr = _part(results, "qr")
    if qr is None:
        return out + [f"Not measured ({_failure(results, 'qr')}).\n"]
    http = qr["http_ms"]
    out.append(
        f"The A4 sheet of {qr['codes']} codes ({qr['pages']} pages) over HTTP from one "
        f"gunicorn worker: {qr['counted']}.\n"
    )
    rows = [[name, http[name]["runs"], http[name]["sheet"], http[name]["images"],
             http[name]["total"]] for name in ("cold", "cached")]
    out.append(_table(["Worker", "Runs", "Sheet HTML ms", "48 images ms", "Total ms"], rows))
    renderer = qr.get("renderer_ms", {})
    chromium = qr.get("chromium_ms", {})
    out.append(
        f"\nRenderer alone (in process): 48 SVGs {_fmt(renderer.get('qr_svg_48_cold'))} ms "
        f"cold, {_fmt(renderer.get('qr_svg_48_cached'))} ms cached. "
        f"Revalidating the 48 images (304): {_fmt(http.get('revalidated', {}).get('images'))} "
        "ms."
    )
    if "skipped" not in chromium and chromium:
        out.append(
            f" In Chromium: the sheet loaded in {_fmt(chromium.get('load_cold'))} ms cold and "
            f"{_fmt(chromium.get('load_cached'))} ms cached; printed to PDF in "
            f"{_fmt(chromium.get('pdf'))} ms ({_fmt(chromium.get('pdf_bytes'))} bytes)."
        )
    out.append("\n")
    return out


# The chart -------------------------------------------------------------------------------


def tallies_chart(results: dict[str, Any]) -> str:
    """Return an SVG line chart of the tallies' time against the number of responses."""
    tallies = _part(results, "tallies") or {}
    series = _chart_series(tallies)
    return line_chart(
        series,
        title="Dashboard tallies: milliseconds against millions of responses",
        x_label="responses (millions)",
        y_label="ms (log scale)",
    )


PALETTE = ["#1f5aa6", "#c0392b", "#2e7d32", "#8e44ad", "#b7791f", "#555555"]


def line_chart(
    series: list[dict[str, Any]], title: str, x_label: str, y_label: str,
    target: float | None = TALLY_MS,
) -> str:
    """Draw series [{"name", "points": [[x, y], ...], "dashed", "colour"}], log-scale y."""
    import math

    width, height, left, right, top, bottom = 900, 420, 70, 330, 40, 50
    xs = [x for s in series for x, _ in s["points"]] or [1.0, 10.0]
    ys = [y for s in series for _, y in s["points"] if y > 0] or [1.0, 1000.0]
    x_max = max(xs)
    y_low = 10 ** math.floor(math.log10(min(ys)))
    y_high = 10 ** math.ceil(math.log10(max(ys)))
    if y_high <= y_low:
        y_high = y_low * 10

    def px(x: float) -> float:
        return left + (width - left - right) * x / x_max

    def py(y: float) -> float:
        span = math.log10(y_high) - math.log10(y_low)
        return top + (height - top - bottom) * (1 - (math.log10(y) - math.log10(y_low)) / span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="22" font-size="14" font-weight="bold">{title}</text>',
    ]
    decade = y_low
    while decade <= y_high:
        y = py(decade)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     'stroke="#dddddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{decade:g}</text>')
        decade *= 10
    for x in sorted(set(xs)):
        parts.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" '
                     f'y2="{height - bottom}" stroke="#eeeeee"/>')
        parts.append(f'<text x="{px(x):.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="middle">{x:g}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" '
                 f'text-anchor="middle">{x_label}</text>')
    parts.append(f'<text x="16" y="{(top + height - bottom) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 16 {(top + height - bottom) / 2})">{y_label}</text>')
    if target is not None and y_low <= target <= y_high:
        parts.append(f'<line x1="{left}" y1="{py(target):.1f}" x2="{width - right}" '
                     f'y2="{py(target):.1f}" stroke="#888888" stroke-dasharray="2 3"/>')
        parts.append(f'<text x="{left + 4}" y="{py(target) - 4:.1f}" fill="#555555">'
                     f'target {target:g} ms (PostgreSQL, 10 million)</text>')
    for n, s in enumerate(series):
        colour = s.get("colour") or PALETTE[n % len(PALETTE)]
        points = [(px(x), py(y)) for x, y in s["points"] if y > 0]
        dash = ' stroke-dasharray="6 4"' if s.get("dashed") else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"{dash}/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        legend_y = top + 10 + n * 20
        parts.append(f'<line x1="{width - right + 15}" y1="{legend_y}" '
                     f'x2="{width - right + 40}" y2="{legend_y}" stroke="{colour}" '
                     f'stroke-width="2"{dash}/>')
        parts.append(f'<text x="{width - right + 46}" y="{legend_y + 4}">{s["name"]}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# The terminal summary --------------------------------------------------------------------


def summary(results: dict[str, Any]) -> str:
    lines = [f"Benchmarks ({results['mode']}, {results['seconds']:.0f} s):"]
    for name, wanted, measured, met in targets(results):
        flag = "ok " if met else ("-- " if met is None else "NOT")
        lines.append(f"  {flag} {name}: {measured} (wanted {wanted})")
    for part in results.get("parts", {}):
        failure = _failure(results, part)
        if failure:
            lines.append(f"  !!  {part}: {failure}")
    return "\n".join(lines)


def main() -> None:
    """Write docs/performance.md and its chart again from bench/results/latest.json.

    For when only the hand-written analysis (bench/analysis.md) changed.
    """
    import json

    root = Path(__file__).resolve().parents[1]
    results = json.loads((root / "bench" / "results" / "latest.json").read_text("utf-8"))
    chart = root / "docs" / "performance-tallies.svg"
    chart.write_text(tallies_chart(results), "utf-8")
    (root / "docs" / "performance.md").write_text(render(results, chart.name), "utf-8")


if __name__ == "__main__":
    main()
