"""The dashboard and the quarterly report, assembled: cards, scope, tables, in one page.

Templates only place these values; every rounding, format and verdict word is decided in
wording.py, every table and chart in tables.py; this module puts them together.

Two indicators carry targets, each judged only against its own (reports.py): O, satisfaction
with how the procedure was settled (question 6), and S, the SIPAS-style index. Every figure
shown with a verdict is a `Measure` of one of them; the verdict is the one label of
`labels.verdict_label`, with a mark that tells a certain verdict from an uncertain one.
"""


from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from survey_app import sipas
from survey_app.dashboard.forms import QUARTER_NAMES
from survey_app.dashboard.tables import (
    Column,
    ElementRow,
    IntegrityView,
    Row,
    Table,
    WishRow,
    agency_row,
    columns,
    element_rows,
    elements_chart,
    integrity_view,
    rates_note,
    reference_text,
    row_of,
    sorted_rows,
    trend_chart,
    trend_rows,
    wish_rows,
    wishes_chart,
)
from survey_app.dashboard.wording import (
    INDEX,
    OVERALL,
    Measure,
    Rate,
    css_key,
    dossiers_text,
    indicator_label,
    measure,
    percent,
    period_text,
    rate_of,
    responses_text,
)
from survey_app.services.dashboard import DashboardFigures
from survey_app.services.filters import ResolvedFilter
from survey_app.services.reports import (
    Report,
    ScopeFigures,
    judged_empty,
)
from survey_app.web.labels import number, source_label


@dataclass(frozen=True)
class Card:
    """One target scope: O and S, each with its n, interval, target and verdict."""

    key: str
    title: str
    n: str
    measures: list[Measure]
    pools: str = ""  # «Gồm: Xây dựng; Quy hoạch xây dựng, kiến trúc»
    targets_note: str = ""  # «Chỉ tiêu năm 2025 (năm 2026 chưa có chỉ tiêu riêng)»
    rate: Rate | None = None
    rate_counts: str = ""  # «1.234 phiếu trên 10.000 hồ sơ»
    receipts: str = ""  # «Xác thực qua giấy tiếp nhận: 23,4% số phiếu được tính»


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
             targets_note=note,
             rate=rate_of(figures),
             rate_counts=_("%(responses)s trên %(dossiers)s",
                           responses=responses_text(figures.responses),
                           dossiers=dossiers_text(figures.dossiers))
             if figures.dossiers is not None else "",
             receipts=receipt_share_text(figures))
        for code, title, figures in headline(report, resolved, language)
    ]


def has_volumes(report: Report) -> bool:
    """True when dossiers are loaded for some agency and sector of the filter.

    Until then the tables leave out the columns of dossiers and rates, which would be empty.
    """
    return bool(report.cells.dossiers)


def receipt_share_text(figures: ScopeFigures) -> str:
    """Return «Xác thực qua giấy tiếp nhận: 23,4% số phiếu được tính» (empty without any)."""
    if figures.receipt_share is None:
        return ""
    return _("Xác thực qua giấy tiếp nhận: %(share)s số phiếu được tính",
             share=percent(figures.receipt_share))


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
    units: tuple[str, ...] = ()  # the units the figures cover, by name, for the printed report


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
        min_sample=_("Số phiếu tối thiểu: %(n)s", n=responses_text(report.min_sample)),
        min_sample_count=responses_text(report.min_sample),
        units=((resolved.agency.name,) if resolved.agency
               else tuple(f.agency.name for f in figures.agencies)),
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
    sources: list[SourceRow] = field(default_factory=list)
    receipts: str = ""  # «Giấy hẹn phát hành qua hệ thống trong kỳ: ...», when there are any
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
        sources=source_rows(report),
        receipts=receipts_text(report),
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
                 note=_("Mỗi lĩnh vực được xét theo chỉ tiêu của lĩnh vực đó."),
                 rates_note=rates_note(rows))


def _agency_table(figures: DashboardFigures, sort: str | None,
                  link: Callable[..., str] | None, headers: Callable[[str, str], list[Column]],
                  ) -> Table:
    rows = [agency_row(f, link) for f in figures.agencies]
    note = _("Số liệu của một đơn vị gồm cả các đơn vị do đơn vị đó theo dõi, như khi lọc theo "
             "đơn vị đó; "
             "dòng «Riêng quầy của đơn vị» chỉ tính các quầy của chính đơn vị.")
    return Table("by-agency", _("Theo đơn vị"), headers(_("Đơn vị"), "by-agency"),
                 sorted_rows(rows, sort),
                 empty_text=_("Không có đơn vị nào trong phạm vi này."),
                 note=note if any(row.own for row in rows) else "",
                 rates_note=rates_note(rows))

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


@dataclass(frozen=True)
class SourceRow:
    """The counted figures of one source: the QR at the counter, or a receipt link."""

    name: str
    counted: str
    share: str  # of every counted response of the filter
    overall: str
    index: str


def source_rows(report: Report) -> list[SourceRow]:
    """Return the figures of each source side by side (over the whole filter, not judged)."""
    total = sum(f.responses for f in report.sources.values())
    return [
        SourceRow(
            name=source_label(source),
            counted=number(figures.responses),
            share=percent(100 * figures.responses / total if total else None),
            overall=percent(figures.scores.overall.share),
            index=percent(figures.scores.sipas_index),
        )
        for source, figures in report.sources.items()
    ]


def receipts_text(report: Report) -> str:
    """Return how many receipt links were minted in the period and answered, when any were."""
    receipts = report.receipts
    if receipts is None or not receipts.minted:
        return ""
    return _("Liên kết đánh giá cấp qua hệ thống trong kỳ: %(minted)s; đã được đánh giá: "
             "%(answered)s (%(rate)s).",
             minted=number(receipts.minted), answered=number(receipts.answered),
             rate=percent(receipts.rate))


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



def dashboard_page(
    figures: DashboardFigures,
    resolved: ResolvedFilter,
    *,
    language: str,
    sort: str | None,
    link: Callable[..., str],
) -> Page:
    """Return the dashboard of a filter: cards, charts, tables, sorted as asked."""
    with_rates = has_volumes(figures.report)

    def headers(name: str, anchor: str) -> list[Column]:
        return columns(name, sort, lambda target: link(sort=target), anchor,
                       with_rates=with_rates and anchor != "by-counter")

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
              empty_text=_("Chưa quầy nào trong phạm vi này nhận được phiếu.")),
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
    with_rates = has_volumes(figures.report)

    def headers(name: str, anchor: str) -> list[Column]:
        return columns(name, with_rates=with_rates)

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
