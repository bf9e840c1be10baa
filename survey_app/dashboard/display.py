"""What a manager reads: figures turned into words and numbers in the page's language.

Templates only place these values; every rounding, format and verdict word is decided here.
Figures are computed unrounded (sipas.py) and rounded only now, to one decimal.
"""

from __future__ import annotations

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
from survey_app.dashboard.services import DashboardFigures
from survey_app.labels import ELEMENT_LABELS, SCOPE_LABELS, STATUS_LABELS, number
from survey_app.models import Sector
from survey_app.questionnaire import WISH_CHOICES
from survey_app.reports import ALL, SCOPES, ScopeFigures
from survey_app.scope_filters import ResolvedFilter

# Sorting by status puts the figures that need attention first.
STATUS_RANK = {
    (sipas.Status.BELOW, False): 0,
    (sipas.Status.BELOW, True): 1,
    (sipas.Status.MET, True): 2,
    (sipas.Status.MET, False): 3,
    (sipas.Status.INSUFFICIENT, False): 4,
}
NOT_JUDGED_RANK = 5
WISH_LABELS = {choice.value: choice.label for choice in WISH_CHOICES}
DASH = "—"


# Numbers, dates and words ---------------------------------------------------------------


def percent(value: float | None) -> str:
    """Return a share in percent, one decimal: «92,4%» in Vietnamese, «92.4%» in English."""
    return DASH if value is None else format_percent(value / 100, "#,##0.0%")


def target_text(threshold: float) -> str:
    """Return a target as «≥ 90%» (a decimal only when the target has one)."""
    pattern = "#,##0%" if float(threshold).is_integer() else "#,##0.0%"
    return "≥ " + format_percent(threshold / 100, pattern)


def target_label(threshold: float | None) -> str:
    """Return «Chỉ tiêu ≥ 90%», or an empty string when there is no target."""
    return "" if threshold is None else _("Chỉ tiêu %(target)s", target=target_text(threshold))


def responses_text(n: int) -> str:
    """Return «1.234 phiếu» in the page's language."""
    return ngettext("%(count)s phiếu", "%(count)s phiếu", n, count=number(n))


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


@dataclass(frozen=True)
class StatusView:
    """A verdict in words, with the class that gives it its colour."""

    key: str  # met, below, insufficient
    text: str
    css: str
    rank: int
    symbol: str


def status_view(figures: ScopeFigures) -> StatusView | None:
    """Return the verdict on the index of a scope, or None when it has no target."""
    if not figures.targets:
        return None
    judgement = figures.targets[0].judgement
    words = str(STATUS_LABELS[judgement.status])
    if judgement.uncertain:
        words = _("%(status)s (chưa chắc chắn)", status=words)
    symbol = {"met": "✓", "below": "✗", "insufficient": "…"}[judgement.status.value]
    css = f"status status-{judgement.status.value}"
    if judgement.uncertain:
        css += " status-uncertain"
    rank = STATUS_RANK[(judgement.status, judgement.uncertain)]
    return StatusView(judgement.status.value, words, css, rank, symbol)


# The parts of the page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One headline figure: the index of a scope, or the overall share beside them."""

    key: str
    title: str
    value: str
    n: str
    interval: str
    target: str
    status: StatusView | None
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One line of a breakdown table (a sector, an agency, a counter or a month)."""

    name: str
    n: int
    index: float | None
    overall: float | None
    status: StatusView | None
    target: str = ""
    detail: str = ""
    href: str = ""

    @property
    def n_text(self) -> str:
        return number(self.n)

    @property
    def index_text(self) -> str:
        return percent(self.index)

    @property
    def overall_text(self) -> str:
        return percent(self.overall)


def row_of(figures: ScopeFigures, name: str, **extra: Any) -> Row:
    target = figures.targets[0].threshold if figures.targets else None
    return Row(
        name=name,
        n=figures.responses,
        index=figures.scores.sipas_index,
        overall=figures.scores.overall.share,
        status=status_view(figures),
        target=target_text(target) if target is not None else "",
        **extra,
    )


def cards(report_scopes: dict[str, ScopeFigures]) -> list[Card]:
    """Return the index of every target scope, then the overall share of all sectors."""
    result = []
    for scope in SCOPES:
        figures = report_scopes[scope]
        threshold = figures.targets[0].threshold if figures.targets else None
        result.append(
            Card(
                key=scope.lower(),
                title=str(SCOPE_LABELS[scope]),
                value=percent(figures.scores.sipas_index),
                n=responses_text(figures.responses),
                interval=interval_text(figures.scores.sipas_interval),
                target=target_label(threshold) or _("Chưa có chỉ tiêu"),
                status=status_view(figures),
            )
        )
    overall = report_scopes[ALL].scores.overall
    result.append(
        Card(
            key="overall",
            title=_("Hài lòng chung (câu 6)"),
            value=percent(overall.share),
            n=ngettext("%(count)s câu trả lời", "%(count)s câu trả lời", overall.valid,
                       count=number(overall.valid)),
            interval=interval_text(overall.interval),
            target=_("Tham khảo, không xét đạt"),
            status=None,
            note=_("Tất cả lĩnh vực; hiển thị bên cạnh chỉ số, không gộp vào chỉ số."),
        )
    )
    return result


@dataclass(frozen=True)
class ElementRow:
    label: str
    value: float | None
    satisfied: str
    valid: str
    interval: str
    is_weakest: bool
    is_below_target: bool

    @property
    def value_text(self) -> str:
        return percent(self.value)


def element_rows(figures: ScopeFigures, threshold: float | None) -> list[ElementRow]:
    """Return the five elements, the weakest one marked."""
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
            is_below_target=(
                share.share is not None and threshold is not None and share.share < threshold
            ),
        )
        for key, share in shares.items()
    ]


def elements_chart(rows: Sequence[ElementRow], threshold: float | None) -> Markup:
    bars = [
        charts.Bar(
            label=_("%(element)s (thấp nhất)", element=row.label) if row.is_weakest else row.label,
            value=row.value,
            value_text=row.value_text if row.value is not None else _("chưa có câu trả lời"),
            is_below_target=row.is_below_target,
            is_marked=row.is_weakest,
        )
        for row in rows
    ]
    return charts.bar_chart(
        bars,
        title=_("Tỷ lệ hài lòng theo 5 yếu tố"),
        target=threshold,
        target_text=target_label(threshold),
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
class CountRow:
    """Counted and stored responses of a scope, side by side."""

    name: str
    counted: str
    duplicate: str
    flagged: str
    stored: str


def count_rows(report_scopes: dict[str, ScopeFigures]) -> list[CountRow]:
    return [
        CountRow(
            name=str(SCOPE_LABELS[scope]),
            counted=number(figures.responses),
            duplicate=number(figures.by_status.get("duplicate", 0)),
            flagged=number(figures.by_status.get("flagged", 0)),
            stored=number(figures.raw_responses),
        )
        for scope, figures in report_scopes.items()
    ]


def trend_rows(figures: DashboardFigures) -> list[Row]:
    return [row_of(m.figures, month(m.month)) for m in figures.months]


def trend_chart(rows: Sequence[Row], threshold: float | None, min_sample: int) -> Markup:
    points = [
        charts.Point(
            label=row.name,
            value=row.index,
            value_text=format_decimal(row.index, "#,##0.0") if row.index is not None else "",
            is_sufficient=row.n >= min_sample,
        )
        for row in rows
    ]
    return charts.line_chart(
        points,
        title=_("Chỉ số hài lòng theo tháng"),
        target=threshold,
        series_text=_("Chỉ số hài lòng"),
        target_text=target_label(threshold),
        insufficient_text=_("Dưới %(n)s phiếu: chưa đủ mẫu", n=number(min_sample)),
    )


# Sorting -----------------------------------------------------------------------------------

SORT_KEYS: dict[str, Callable[[Row], Any]] = {
    "n": lambda row: row.n,
    "index": lambda row: row.index,
    "overall": lambda row: row.overall,
    "status": lambda row: row.status.rank if row.status else NOT_JUDGED_RANK,
}
# The first click on a column: the most responses first, the weakest figures first.
FIRST_DIRECTION = {"name": "", "n": "-", "index": "", "overall": "", "status": ""}


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
class SortHeader:
    """A column header that is a link re-sorting the tables."""

    label: str
    href: str
    aria_sort: str = "none"
    arrow: str = ""
    is_numeric: bool = False


@dataclass(frozen=True)
class Table:
    """A breakdown table: its id (the link target), title, headers and rows."""

    id: str
    title: str
    name_header: str
    rows: list[Row]
    headers: list[SortHeader] = field(default_factory=list)
    empty_text: str = ""


def sort_headers(name_label: str, sort: str | None, url_for_sort: Callable[[str], str],
                 anchor: str) -> list[SortHeader]:
    column_now, descending_now = parse_sort(sort)
    labels = {
        "name": name_label,
        "n": _("Số phiếu"),
        "index": _("Chỉ số hài lòng"),
        "overall": _("Hài lòng chung"),
        "status": _("Trạng thái"),
    }
    headers = []
    for column, label in labels.items():
        first = FIRST_DIRECTION[column]
        if column == column_now:
            # A second click on the same column turns the order round.
            aria = "descending" if descending_now else "ascending"
            arrow = "▼" if descending_now else "▲"
            target = column if descending_now else "-" + column
        else:
            aria, arrow, target = "none", "", first + column
        headers.append(SortHeader(label, f"{url_for_sort(target)}#{anchor}", aria, arrow,
                                  is_numeric=column in ("n", "index", "overall")))
        if column == "overall":
            headers.append(SortHeader(_("Chỉ tiêu"), ""))
    return headers


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
    """What the figures cover, in words."""

    period: str
    agency: str
    counter: str
    sector: str
    target_year: str
    min_sample: str
    min_sample_count: str


def scope_of(figures: DashboardFigures, resolved: ResolvedFilter, language: str) -> Scope:
    report = figures.report
    period = report.period
    if report.target_year is None:
        target_year = _("Chưa có chỉ tiêu cho năm %(year)d", year=period.end.year)
    else:
        target_year = _("Chỉ tiêu năm %(year)d", year=report.target_year.year)
    return Scope(
        period=period_text(period.start, period.end),
        agency=resolved.agency.name if resolved.agency else _("Tất cả đơn vị trong phạm vi"),
        counter=resolved.counter.name if resolved.counter else "",
        sector=resolved.sector.label(language) if resolved.sector else _("Tất cả lĩnh vực"),
        target_year=target_year,
        min_sample=_("Cỡ mẫu tối thiểu %(n)s", n=responses_text(report.min_sample)),
        min_sample_count=responses_text(report.min_sample),
    )


@dataclass(frozen=True)
class Page:
    """Everything the dashboard or the quarterly report shows, ready to place."""

    scope: Scope
    cards: list[Card]
    elements: list[ElementRow]
    elements_chart: Markup
    tables: list[Table]
    integrity: IntegrityView
    wishes: list[WishRow]
    wish_respondents: str
    wishes_chart: Markup | None
    counts: list[CountRow]
    trend: list[Row] = field(default_factory=list)
    trend_chart: Markup | None = None
    trend_caption: str = ""


def _common(figures: DashboardFigures, resolved: ResolvedFilter, language: str,
            tables: list[Table]) -> Page:
    report = figures.report
    everything = report.scopes[ALL]
    elements = element_rows(everything, figures.threshold)
    wishes = wish_rows(everything)
    return Page(
        scope=scope_of(figures, resolved, language),
        cards=cards(report.scopes),
        elements=elements,
        elements_chart=elements_chart(elements, figures.threshold),
        tables=tables,
        integrity=integrity_view(everything),
        wishes=wishes,
        wish_respondents=ngettext("%(count)s người trả lời câu 8", "%(count)s người trả lời câu 8",
                                  everything.scores.wish_respondents,
                                  count=number(everything.scores.wish_respondents)),
        wishes_chart=wishes_chart(wishes) if wishes else None,
        counts=count_rows(report.scopes),
    )


def _sector_table(figures: DashboardFigures, sectors: dict[str, Sector], language: str,
                  sort: str | None, link: Callable[..., str] | None) -> Table:
    rows = [
        row_of(f, sectors[code].label(language) if code in sectors else code,
               href=link(sector=code) if link else "")
        for code, f in figures.report.sectors.items()
    ]
    return Table("by-sector", _("Theo lĩnh vực"), _("Lĩnh vực"), sorted_rows(rows, sort),
                 empty_text=_("Chưa có phiếu nào trong phạm vi này."))


def _agency_table(figures: DashboardFigures, sort: str | None,
                  link: Callable[..., str] | None) -> Table:
    rows = [
        row_of(f, agency.name, detail=agency.code,
               href=link(agency=agency.code, counter=None) if link else "")
        for agency, f in figures.agencies
    ]
    return Table("by-agency", _("Theo đơn vị"), _("Đơn vị"), sorted_rows(rows, sort),
                 empty_text=_("Không có đơn vị nào trong phạm vi này."))


def dashboard_page(
    figures: DashboardFigures,
    resolved: ResolvedFilter,
    *,
    sectors: dict[str, Sector],
    language: str,
    sort: str | None,
    link: Callable[..., str],
) -> Page:
    """Return the dashboard of a filter: cards, charts, tables, sorted as asked."""
    def headers(name: str, anchor: str) -> list[SortHeader]:
        return sort_headers(name, sort, lambda target: link(sort=target), anchor)

    counter_rows = [
        row_of(f, counter.name, detail=counter.agency.name,
               href=link(agency=counter.agency.code, counter=str(counter.id)))
        for counter, f in figures.counters
    ]
    tables = [
        _sector_table(figures, sectors, language, sort, link),
        _agency_table(figures, sort, link),
        Table("by-counter", _("Theo quầy"), _("Quầy"), sorted_rows(counter_rows, sort),
              empty_text=_("Chưa có phiếu nào tại quầy nào trong phạm vi này.")),
    ]
    tables = [
        Table(t.id, t.title, t.name_header, t.rows, headers(t.name_header, t.id), t.empty_text)
        for t in tables
    ]
    page = _common(figures, resolved, language, tables)
    trend = trend_rows(figures)
    span = figures.trend_period
    caption = (
        _("Chỉ số hài lòng từng tháng, %(period)s.", period=period_text(span.start, span.end))
        if span is not None
        else ""
    )
    return replace(
        page,
        trend=trend,
        trend_chart=trend_chart(trend, figures.threshold, figures.report.min_sample),
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
    sectors: dict[str, Sector],
    language: str,
    quarter: int,
) -> ReportPage:
    """Return the figures of one quarter for the printable report."""
    tables = [
        _sector_table(figures, sectors, language, None, None),
        _agency_table(figures, None, None),
    ]
    quarter_name = _("Quý %(quarter)s/%(year)d", quarter=QUARTER_NAMES[quarter],
                     year=figures.report.period.end.year)
    return ReportPage(
        page=_common(figures, resolved, language, tables),
        title=_("Kết quả đánh giá sự hài lòng của người dân, tổ chức — %(quarter)s",
                quarter=quarter_name),
        quarter=quarter_name,
    )
