"""What a manager reads: figures turned into words and numbers in the page's language.

Templates only place these values; every rounding, format and verdict word is decided here.
Figures are computed unrounded (sipas.py) and rounded only now, to one decimal.

Two indicators carry targets, each judged only against its own (reports.py): O, satisfaction
with how the procedure was settled (question 6), and S, the SIPAS-style index. Every figure
shown with a verdict is a `Measure` of one of them; the verdict is the one label of
`labels.verdict_label`, with a mark that tells a certain verdict from an uncertain one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask_babel import format_date, format_decimal, format_percent, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from survey_app import sipas
from survey_app.dashboard import charts
from survey_app.dashboard.forms import QUARTER_NAMES
from survey_app.questionnaire import WISH_CHOICES
from survey_app.services.dashboard import DashboardFigures
from survey_app.services.filters import ResolvedFilter
from survey_app.services.reports import (
    AgencyFigures,
    Report,
    ScopeFigures,
    TargetCheck,
    judged_empty,
)
from survey_app.sipas import Indicator
from survey_app.web.labels import ELEMENT_LABELS, INDICATOR_LABELS, number, verdict_label

OVERALL, INDEX = Indicator.OVERALL, Indicator.SIPAS_INDEX
# Sorting by a verdict puts the figures that need attention first.
VERDICT_RANK = {
    (sipas.Status.BELOW, False): 0,
    (sipas.Status.BELOW, True): 1,
    (sipas.Status.MET, True): 2,
    (sipas.Status.MET, False): 3,
    (sipas.Status.INSUFFICIENT, False): 4,
}
NOT_JUDGED_RANK = 5
WISH_LABELS = {choice.value: choice.label for choice in WISH_CHOICES}
DASH = "—"
SHORT_TABLE = 15  # rows


# Numbers, dates and words ---------------------------------------------------------------


def percent(value: float | None) -> str:
    """Return a share in percent, one decimal: «92,4%» in Vietnamese, «92.4%» in English."""
    return DASH if value is None else format_percent(value / 100, "#,##0.0%")


def target_text(threshold: float) -> str:
    """Return a target as «≥ 90%» (a decimal only when the target has one)."""
    pattern = "#,##0%" if float(threshold).is_integer() else "#,##0.0%"
    return "≥ " + format_percent(threshold / 100, pattern)


def target_label(threshold: float | None) -> str:
    """Return «Chỉ tiêu ≥ 90%», or «Chưa có chỉ tiêu» when there is no target."""
    if threshold is None:
        return _("Chưa có chỉ tiêu")
    return _("Chỉ tiêu %(target)s", target=target_text(threshold))


def responses_text(n: int) -> str:
    """Return «1.234 phiếu» in the page's language."""
    return ngettext("%(count)s phiếu", "%(count)s phiếu", n, count=number(n))


def answers_text(n: int) -> str:
    """Return «1.234 câu trả lời»: the n of a share of one question."""
    return ngettext("%(count)s câu trả lời", "%(count)s câu trả lời", n, count=number(n))


def interval_text(interval: tuple[float, float] | None) -> str:
    """Return a 95% interval as a range, «85,1% – 88,3%» (empty when there is none)."""
    if interval is None:
        return ""
    return _("%(low)s – %(high)s", low=percent(interval[0]), high=percent(interval[1]))


def day(value: date) -> str:
    return format_date(value, "dd/MM/yyyy")


def month(value: date) -> str:
    return format_date(value, "MM/yyyy")


def period_text(start: date, end: date) -> str:
    return _("%(start)s – %(end)s", start=day(start), end=day(end))


def indicator_label(indicator: Indicator) -> str:
    return str(INDICATOR_LABELS[indicator.value])


def css_key(code: str) -> str:
    """Return a scope code as a class name: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower())


# Verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A verdict in one label, with the mark and class that set it apart.

    A certain verdict wears ✓ or ✗; an uncertain one, met or below, «?» and an amber style,
    so it never looks like a certain one; a sample too small to judge «…».
    """

    key: str  # met, below, uncertain, insufficient: the class and the mark
    text: str
    symbol: str
    rank: int

    @property
    def css(self) -> str:
        return f"status status-{self.key}"


SYMBOLS = {"met": "✓", "below": "✗", "uncertain": "?", "insufficient": "…"}


def verdict_of(check: TargetCheck | None) -> Verdict | None:
    """Return the verdict of a target check, or None when the figure has no target."""
    if check is None:
        return None
    judgement = check.judgement
    key = "uncertain" if judgement.uncertain else judgement.status.value
    return Verdict(key, verdict_label(judgement), SYMBOLS[key],
                   VERDICT_RANK[(judgement.status, judgement.uncertain)])


@dataclass(frozen=True)
class Measure:
    """One indicator of one figure: value, n, interval, its own target and verdict."""

    indicator: str  # overall, sipas_index
    label: str
    value: float | None
    count: int  # the n the verdict is judged on
    n: str
    interval: str
    target: str  # «Chỉ tiêu ≥ 90%», «Chưa có chỉ tiêu»
    threshold: str  # «≥ 90%», or empty
    verdict: Verdict | None

    @property
    def value_text(self) -> str:
        return percent(self.value)

    @property
    def rank(self) -> int:
        return self.verdict.rank if self.verdict else NOT_JUDGED_RANK


def measure(figures: ScopeFigures, indicator: Indicator) -> Measure:
    """Return one indicator of a figure over its counted responses, judged."""
    return _measure(figures.scores, indicator, figures.target(indicator))


def raw_measure(figures: ScopeFigures, indicator: Indicator) -> Measure:
    """Return one indicator over every stored response: shown beside, never judged."""
    return _measure(figures.raw_scores, indicator, None)


def _measure(scores: sipas.Scores, indicator: Indicator, check: TargetCheck | None) -> Measure:
    # O's n is the valid answers to question 6, S's the responses: each is judged on its own.
    is_overall = indicator is OVERALL
    count = scores.overall.valid if is_overall else scores.responses
    return Measure(
        indicator=indicator.value,
        label=indicator_label(indicator),
        value=sipas.indicator_value(scores, indicator),
        count=count,
        n=answers_text(count) if is_overall else responses_text(count),
        interval=interval_text(scores.overall.interval if is_overall else scores.sipas_interval),
        target=target_label(check.threshold if check else None),
        threshold=target_text(check.threshold) if check else "",
        verdict=verdict_of(check),
    )


# The parts of the page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One target scope: O and S, each with its n, interval, target and verdict."""

    key: str
    title: str
    n: str
    measures: list[Measure]
    pools: str = ""  # «Gồm: Xây dựng; Quy hoạch xây dựng, kiến trúc»
    targets_note: str = ""  # «Chỉ tiêu năm 2025 (năm 2026 chưa có chỉ tiêu riêng)»


def scope_label(report: Report, code: str, language: str) -> str:
    vi, en = report.scope_labels.get(code, (code, code))
    return en if language == "en" else vi


def headline(report: Report, resolved: ResolvedFilter,
             language: str) -> list[tuple[str, str, ScopeFigures]]:
    """Return (key, title, figures) of the cards: every target scope, or the chosen sector.

    With one sector chosen, every scope would hold that sector's responses alone, each judged
    against its own targets: «Tất cả lĩnh vực» would judge investment against 90 beside
    «Đầu tư» against 85, for the same responses. The sector is judged once, by the targets
    that fit it, as every row of the page is.
    """
    sector = resolved.sector
    if sector is None:
        return [(code, scope_label(report, code, language), figures)
                for code, figures in report.scopes.items()]
    figures = report.sectors.get(sector.code) or judged_empty(
        sector.code, resolved.tally, report.book, report.period_year)
    return [(sector.code, sector.label(language), figures)]


def pooled_sectors(report: Report, code: str, language: str) -> str:
    """Return the sectors a target scope pools, in words; empty when it pools every sector.

    A scope's figure silently summing several sectors reads as a mismatch beside the
    sector rows below it, so the card names what it holds.
    """
    names = report.pooled_sector_names(code, language)
    return _("Gồm: %(sectors)s", sectors="; ".join(names)) if names else ""


def borrowed_targets_note(report: Report) -> str:
    """Return «Chỉ tiêu năm 2025 (năm 2026 chưa có chỉ tiêu riêng)» when targets are borrowed."""
    if not report.borrows_targets:
        return ""
    return _("Chỉ tiêu năm %(target_year)d (năm %(year)d chưa có chỉ tiêu riêng)",
             target_year=report.target_year, year=report.period_year)


def cards(report: Report, resolved: ResolvedFilter, language: str) -> list[Card]:
    """Return a card for every target scope, in the deployment's order (or the sector's)."""
    note = borrowed_targets_note(report)
    is_scope = resolved.sector is None  # else the one card is the chosen sector itself
    return [
        Card(css_key(code), title, responses_text(figures.responses),
             [measure(figures, OVERALL), measure(figures, INDEX)],
             pools=pooled_sectors(report, code, language) if is_scope else "",
             targets_note=note)
        for code, title, figures in headline(report, resolved, language)
    ]


@dataclass(frozen=True)
class Row:
    """One line of a breakdown table (a sector, an agency, a counter or a month)."""

    name: str
    n: int
    overall: Measure
    index: Measure
    detail: str = ""
    href: str = ""
    own: Row | None = None  # an agency's own counters, below the row of its whole tree

    @property
    def n_text(self) -> str:
        return number(self.n)


def row_of(figures: ScopeFigures, name: str, **extra: Any) -> Row:
    return Row(name=name, n=figures.responses, overall=measure(figures, OVERALL),
               index=measure(figures, INDEX), **extra)


def agency_row(figures: AgencyFigures, link: Callable[..., str] | None) -> Row:
    """Return an agency with every agency below it, and its own counters as a second line."""
    agency = figures.agency
    own = (
        row_of(figures.own, _("Riêng quầy của đơn vị"), detail=agency.code)
        if figures.has_agencies_below else None
    )
    return row_of(figures.total, agency.name, detail=agency.code,
                  href=link(agency=agency.code, counter=None) if link else "", own=own)


@dataclass(frozen=True)
class ElementRow:
    label: str
    value: float | None
    satisfied: str
    valid: str
    interval: str
    is_weakest: bool

    @property
    def value_text(self) -> str:
        return percent(self.value)


def element_rows(figures: ScopeFigures) -> list[ElementRow]:
    """Return the five elements, the weakest one marked; elements have no target."""
    shares = figures.scores.elements
    defined = [s.share for s in shares.values() if s.share is not None]
    weakest = min(defined) if len(defined) > 1 else None
    return [
        ElementRow(
            label=str(ELEMENT_LABELS[key]),
            value=share.share,
            satisfied=number(share.satisfied),
            valid=number(share.valid),
            interval=interval_text(share.interval),
            is_weakest=share.share is not None and share.share == weakest,
        )
        for key, share in shares.items()
    ]


def reference_text(threshold: float | None) -> str:
    """Return the label of the reference line at S's target drawn over the elements."""
    if threshold is None:
        return ""
    return _("Chỉ tiêu của chỉ số kiểu SIPAS %(target)s (để tham chiếu)",
             target=target_text(threshold))


def elements_chart(rows: Sequence[ElementRow], threshold: float | None) -> Markup:
    # No bar is coloured as below: an element has no target of its own (the line is S's).
    bars = [
        charts.Bar(
            label=_("%(element)s (thấp nhất)", element=row.label) if row.is_weakest else row.label,
            value=row.value,
            value_text=row.value_text if row.value is not None else _("chưa có câu trả lời"),
            is_marked=row.is_weakest,
        )
        for row in rows
    ]
    return charts.bar_chart(
        bars,
        title=_("Tỷ lệ hài lòng theo 5 yếu tố"),
        target=threshold,
        target_text=reference_text(threshold),
    )


@dataclass(frozen=True)
class WishRow:
    label: str
    chosen: str
    share: str
    value: float


def wish_rows(figures: ScopeFigures) -> list[WishRow]:
    """Return the improvements asked for, the most wanted first."""
    scores = figures.scores
    rows = [
        WishRow(str(WISH_LABELS.get(code, code)), number(figures.counts.wishes.get(code, 0)),
                percent(share), share)
        for code, share in scores.wishes.items()
    ]
    return sorted(rows, key=lambda row: (-row.value, row.label))


def wishes_chart(rows: Sequence[WishRow]) -> Markup:
    # Wishes are far from 100%: the axis stops at the next ten above the largest share.
    largest = max((row.value for row in rows), default=0.0)
    return charts.bar_chart(
        [charts.Bar(row.label, row.value, row.share) for row in rows],
        title=_("Điều người dân mong muốn cải thiện nhất"),
        axis_max=min(100, int(largest // 10 + 1) * 10),
        width=640,
    )


@dataclass(frozen=True)
class RawRow:
    """A scope's figures over counted responses, beside the same over every stored one."""

    name: str
    counted: str
    counted_overall: str
    counted_index: str
    stored: str
    stored_overall: str
    stored_index: str
    duplicate: str
    flagged: str


def raw_rows(report: Report, resolved: ResolvedFilter, language: str) -> list[RawRow]:
    """Return, for every scope (or the sector), how much the left-out responses move O and S."""
    return [
        RawRow(
            name=title,
            counted=number(figures.responses),
            counted_overall=percent(figures.scores.overall.share),
            counted_index=percent(figures.scores.sipas_index),
            stored=number(figures.raw_responses),
            stored_overall=percent(figures.raw_scores.overall.share),
            stored_index=percent(figures.raw_scores.sipas_index),
            duplicate=number(figures.by_status.get("duplicate", 0)),
            flagged=number(figures.by_status.get("flagged", 0)),
        )
        for _code, title, figures in headline(report, resolved, language)
    ]


def trend_rows(figures: DashboardFigures) -> list[Row]:
    return [row_of(m.figures, month(m.month)) for m in figures.months]


def trend_chart(rows: Sequence[Row], indicator: Indicator, threshold: float | None,
                min_sample: int) -> Markup:
    """Draw one indicator month by month, with the filter's target for it as a dashed line."""
    points = []
    for row in rows:
        shown = row.overall if indicator is OVERALL else row.index
        points.append(charts.Point(
            label=row.name,
            value=shown.value,
            value_text=format_decimal(shown.value, "#,##0.0") if shown.value is not None else "",
            is_sufficient=shown.count >= min_sample,
        ))
    label = indicator_label(indicator)
    return charts.line_chart(
        points,
        title=_("%(indicator)s theo tháng", indicator=label),
        target=threshold,
        series_text=label,
        target_text=target_label(threshold),
        insufficient_text=(
            _("Dưới %(n)s câu trả lời: chưa đủ mẫu", n=number(min_sample)) if indicator is OVERALL
            else _("Dưới %(n)s phiếu: chưa đủ mẫu", n=number(min_sample))
        ),
    )


# Sorting -----------------------------------------------------------------------------------

SORT_KEYS: dict[str, Callable[[Row], Any]] = {
    "n": lambda row: row.n,
    "overall": lambda row: row.overall.value,
    "index": lambda row: row.index.value,
    # A verdict column puts the verdicts needing attention first, then by the other one.
    "overall_status": lambda row: (row.overall.rank, row.index.rank),
    "index_status": lambda row: (row.index.rank, row.overall.rank),
    # The worse of the row's two verdicts first (kept for addresses written before).
    "status": lambda row: tuple(sorted((row.overall.rank, row.index.rank))),
}
# The first click on a column: the most responses first, the weakest figures first.
FIRST_DIRECTION = {"name": "", "n": "-", "overall": "", "overall_status": "", "index": "",
                   "index_status": "", "status": ""}


def parse_sort(value: str | None) -> tuple[str, bool]:
    """Return (column, descending) of a ?sort= value; unknown values sort by name."""
    value = value or ""
    descending = value.startswith("-")
    column = value.lstrip("-")
    if column not in FIRST_DIRECTION:
        return "name", False
    return column, descending


def sorted_rows(rows: Sequence[Row], sort: str | None) -> list[Row]:
    """Return the rows in the asked order; rows without a figure always come last."""
    column, descending = parse_sort(sort)
    if column == "name":
        return list(reversed(rows)) if descending else list(rows)
    key = SORT_KEYS[column]
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    return sorted(known, key=key, reverse=descending) + unknown


@dataclass(frozen=True)
class Column:
    """A column of a breakdown table, with the link that re-sorts the tables by it.

    `context` names, for screen readers, the indicator a «Đánh giá» column judges.
    """

    label: str
    context: str = ""
    href: str = ""
    aria_sort: str = "none"
    arrow: str = ""
    is_numeric: bool = False


@dataclass(frozen=True)
class Table:
    """A breakdown table: its id (the link target), title, columns and rows."""

    id: str
    title: str
    columns: list[Column]
    rows: list[Row]
    empty_text: str = ""
    note: str = ""

    @property
    def is_short(self) -> bool:
        """True when the table fits well on one printed page, so it is kept whole there."""
        return len(self.rows) + sum(1 for row in self.rows if row.own) <= SHORT_TABLE


def columns(name_label: str, sort: str | None = None,
            url_for_sort: Callable[[str], str] | None = None, anchor: str = "") -> list[Column]:
    """Return the columns of a breakdown: name, n, O and its verdict, S and its verdict."""
    column_now, descending_now = parse_sort(sort)
    o_label, s_label = indicator_label(OVERALL), indicator_label(INDEX)
    verdict = _("Đánh giá")
    wanted = [
        ("name", name_label, "", False),
        ("n", _("Số phiếu"), "", True),
        ("overall", o_label, "", True),
        ("overall_status", verdict, o_label, False),
        ("index", s_label, "", True),
        ("index_status", verdict, s_label, False),
    ]
    result = []
    for column, label, context, is_numeric in wanted:
        if url_for_sort is None:
            result.append(Column(label, context, is_numeric=is_numeric))
            continue
        if column == column_now:
            # A second click on the same column turns the order round.
            aria = "descending" if descending_now else "ascending"
            arrow = "▼" if descending_now else "▲"
            target = column if descending_now else "-" + column
        else:
            aria, arrow, target = "none", "", FIRST_DIRECTION[column] + column
        result.append(Column(label, context, f"{url_for_sort(target)}#{anchor}", aria, arrow,
                             is_numeric))
    return result


@dataclass(frozen=True)
class IntegrityView:
    value: str
    n: str
    interval: str
    reported: str  # how many answered «Có» (yes)


def integrity_view(figures: ScopeFigures) -> IntegrityView:
    share = figures.scores.integrity
    yes = figures.counts.integrity.get("yes", 0)
    return IntegrityView(
        value=percent(share.share),
        n=ngettext("%(count)s người trả lời «Không» hoặc «Có»",
                   "%(count)s người trả lời «Không» hoặc «Có»", share.valid,
                   count=number(share.valid)),
        interval=interval_text(share.interval),
        reported=ngettext("%(count)s người cho biết có gặp phiền hà, sách nhiễu",
                          "%(count)s người cho biết có gặp phiền hà, sách nhiễu", yes,
                          count=number(yes)),
    )


@dataclass(frozen=True)
class Scope:
    """What the figures cover, and which year's targets judge them, in words."""

    period: str
    agency: str
    counter: str
    sector: str
    target_year: str
    targets_note: str  # when the targets are borrowed from an earlier year, or missing
    min_sample: str
    min_sample_count: str


def targets_in_words(report: Report) -> tuple[str, str]:
    """Return «Chỉ tiêu năm 2025» and, when the period's year has none, why another applies."""
    year = report.period_year
    if report.target_year is None:
        return (_("Chưa có chỉ tiêu"),
                _("Chưa có chỉ tiêu cho năm %(year)d hay năm nào trước đó: các số liệu không "
                  "được xét đạt hay chưa đạt.", year=year))
    used = _("Chỉ tiêu năm %(year)d", year=report.target_year)
    if report.borrows_targets:
        return used, _("Năm %(year)d chưa có chỉ tiêu riêng: áp dụng chỉ tiêu năm "
                       "%(target_year)d.", year=year, target_year=report.target_year)
    return used, ""


def scope_of(figures: DashboardFigures, resolved: ResolvedFilter, language: str) -> Scope:
    report = figures.report
    period = report.period
    target_year, note = targets_in_words(report)
    return Scope(
        period=period_text(period.start, period.end),
        agency=resolved.agency.name if resolved.agency else _("Tất cả đơn vị trong phạm vi"),
        counter=resolved.counter.name if resolved.counter else "",
        sector=resolved.sector.label(language) if resolved.sector else _("Tất cả lĩnh vực"),
        target_year=target_year,
        targets_note=note,
        min_sample=_("Cỡ mẫu tối thiểu %(n)s", n=responses_text(report.min_sample)),
        min_sample_count=responses_text(report.min_sample),
    )


def everything_of(report: Report) -> ScopeFigures:
    """Return the figures of every response of the filter: the all-sector scope's."""
    for scope in report.book.scopes:
        if scope.sector_ids is None and scope.code in report.scopes:
            return report.scopes[scope.code]
    # A deployment without an all-sector scope: the sectors pooled (disjoint by construction).
    counts = sipas.pool(f.counts for f in report.sectors.values())
    raw = sipas.pool(f.raw_counts for f in report.sectors.values())
    by_status: dict[str, int] = {}
    for f in report.sectors.values():
        for status, n in f.by_status.items():
            by_status[status] = by_status.get(status, 0) + n
    return ScopeFigures("", counts, sipas.score(counts), by_status, raw, sipas.score(raw))


@dataclass(frozen=True)
class Page:
    """Everything the dashboard or the quarterly report shows, ready to place."""

    scope: Scope
    cards: list[Card]
    elements: list[ElementRow]
    elements_chart: Markup
    elements_reference: str
    tables: list[Table]
    integrity: IntegrityView
    wishes: list[WishRow]
    wish_respondents: str
    wishes_chart: Markup | None
    raw: list[RawRow]
    overall_label: str
    index_label: str
    trend: list[Row] = field(default_factory=list)
    trend_charts: list[Markup] = field(default_factory=list)
    trend_caption: str = ""


def _common(figures: DashboardFigures, resolved: ResolvedFilter, language: str,
            tables: list[Table]) -> Page:
    report = figures.report
    everything = everything_of(report)
    elements = element_rows(everything)
    wishes = wish_rows(everything)
    reference = report.threshold(INDEX)
    return Page(
        scope=scope_of(figures, resolved, language),
        cards=cards(report, resolved, language),
        elements=elements,
        elements_chart=elements_chart(elements, reference),
        elements_reference=reference_text(reference),
        tables=tables,
        integrity=integrity_view(everything),
        wishes=wishes,
        wish_respondents=ngettext("%(count)s người trả lời câu 8", "%(count)s người trả lời câu 8",
                                  everything.scores.wish_respondents,
                                  count=number(everything.scores.wish_respondents)),
        wishes_chart=wishes_chart(wishes) if wishes else None,
        raw=raw_rows(report, resolved, language),
        overall_label=indicator_label(OVERALL),
        index_label=indicator_label(INDEX),
    )


def _sector_table(figures: DashboardFigures, language: str, sort: str | None,
                  link: Callable[..., str] | None, headers: Callable[[str, str], list[Column]],
                  ) -> Table:
    report = figures.report
    rows = []
    for code, f in report.sectors.items():
        vi, en = report.sector_labels.get(code, (code, code))
        rows.append(row_of(f, en if language == "en" else vi,
                           href=link(sector=code) if link else ""))
    return Table("by-sector", _("Theo lĩnh vực"), headers(_("Lĩnh vực"), "by-sector"),
                 sorted_rows(rows, sort), empty_text=_("Chưa có phiếu nào trong phạm vi này."),
                 note=_("Mỗi lĩnh vực được xét theo chỉ tiêu của lĩnh vực đó."))


def _agency_table(figures: DashboardFigures, sort: str | None,
                  link: Callable[..., str] | None, headers: Callable[[str, str], list[Column]],
                  ) -> Table:
    rows = [agency_row(f, link) for f in figures.agencies]
    note = _("Số liệu của một đơn vị gồm cả các đơn vị cấp dưới, như khi lọc theo đơn vị đó; "
             "dòng «Riêng quầy của đơn vị» chỉ tính các quầy của chính đơn vị.")
    return Table("by-agency", _("Theo đơn vị"), headers(_("Đơn vị"), "by-agency"),
                 sorted_rows(rows, sort),
                 empty_text=_("Không có đơn vị nào trong phạm vi này."),
                 note=note if any(row.own for row in rows) else "")


def dashboard_page(
    figures: DashboardFigures,
    resolved: ResolvedFilter,
    *,
    language: str,
    sort: str | None,
    link: Callable[..., str],
) -> Page:
    """Return the dashboard of a filter: cards, charts, tables, sorted as asked."""
    def headers(name: str, anchor: str) -> list[Column]:
        return columns(name, sort, lambda target: link(sort=target), anchor)

    counter_rows = [
        row_of(f, counter.name, detail=counter.agency.name,
               href=link(agency=counter.agency.code, counter=str(counter.id)))
        for counter, f in figures.counters
    ]
    tables = [
        _sector_table(figures, language, sort, link, headers),
        _agency_table(figures, sort, link, headers),
        Table("by-counter", _("Theo quầy"), headers(_("Quầy"), "by-counter"),
              sorted_rows(counter_rows, sort),
              empty_text=_("Chưa có phiếu nào tại quầy nào trong phạm vi này.")),
    ]
    page = _common(figures, resolved, language, tables)
    trend = trend_rows(figures)
    span = figures.trend_period
    report = figures.report
    caption = (
        _("Từng tháng, %(period)s; mỗi tháng được xét theo chỉ tiêu của năm chứa tháng đó.",
          period=period_text(span.start, span.end))
        if span is not None
        else ""
    )
    return replace(
        page,
        trend=trend,
        trend_charts=[trend_chart(trend, indicator, report.threshold(indicator),
                                  report.min_sample) for indicator in (OVERALL, INDEX)],
        trend_caption=caption,
    )


@dataclass(frozen=True)
class ReportPage:
    page: Page
    title: str
    quarter: str


def report_page(
    figures: DashboardFigures,
    resolved: ResolvedFilter,
    *,
    language: str,
    quarter: int,
) -> ReportPage:
    """Return the figures of one quarter for the printable report."""
    def headers(name: str, anchor: str) -> list[Column]:
        return columns(name)

    tables = [
        _sector_table(figures, language, None, None, headers),
        _agency_table(figures, None, None, headers),
    ]
    quarter_name = _("Quý %(quarter)s/%(year)d", quarter=QUARTER_NAMES[quarter],
                     year=figures.report.period.end.year)
    return ReportPage(
        page=_common(figures, resolved, language, tables),
        title=_("Kết quả đánh giá sự hài lòng của người dân, tổ chức — %(quarter)s",
                quarter=quarter_name),
        quarter=quarter_name,
    )
