"""The tables and charts of the dashboard: one row per sector, agency, element or month,
sorted as the manager asked, the weakest figures first on the first click.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from survey_app.dashboard import charts
from survey_app.dashboard.wording import (
    INDEX,
    OVERALL,
    Measure,
    Rate,
    indicator_label,
    interval_text,
    measure,
    month,
    percent,
    rate_of,
    target_label,
    target_text,
)
from survey_app.questionnaire import CURRENT, WISH_KEY
from survey_app.services.dashboard import DashboardFigures
from survey_app.services.reports import (
    AgencyFigures,
    ScopeFigures,
)
from survey_app.sipas import Indicator
from survey_app.web.labels import ELEMENT_LABELS, number

# Wishes of every version are tallied together, named in the current version's words.
WISH_LABELS = {choice.value: choice.label for choice in CURRENT.question(WISH_KEY).choices}
SHORT_TABLE = 15  # rows


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
    rate: Rate | None = None  # dossiers received and the response rate

    @property
    def n_text(self) -> str:
        return number(self.n)

    @property
    def needs_review(self) -> bool:
        return any(row.rate is not None and row.rate.needs_review
                   for row in (self, *([self.own] if self.own else [])))


def row_of(figures: ScopeFigures, name: str, **extra: Any) -> Row:
    return Row(name=name, n=figures.responses, overall=measure(figures, OVERALL),
               index=measure(figures, INDEX), rate=rate_of(figures), **extra)


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


SORT_KEYS: dict[str, Callable[[Row], Any]] = {
    "n": lambda row: row.n,
    "dossiers": lambda row: row.rate.dossiers if row.rate else None,
    "rate": lambda row: row.rate.value if row.rate else None,
    "overall": lambda row: row.overall.value,
    "index": lambda row: row.index.value,
    # A verdict column puts the verdicts needing attention first, then by the other one.
    "overall_status": lambda row: (row.overall.rank, row.index.rank),
    "index_status": lambda row: (row.index.rank, row.overall.rank),
    # The worse of the row's two verdicts first (kept for addresses written before).
    "status": lambda row: tuple(sorted((row.overall.rank, row.index.rank))),
}


# The first click on a column: the most responses first, the weakest figures first, the
# highest rates (the implausible ones) first.
FIRST_DIRECTION = {"name": "", "n": "-", "dossiers": "-", "rate": "-", "overall": "",
                   "overall_status": "", "index": "", "index_status": "", "status": ""}


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

    key: str
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
    rates_note: str = ""  # what the response rates and their marks mean, when shown

    @property
    def is_short(self) -> bool:
        """True when the table fits well on one printed page, so it is kept whole there."""
        return len(self.rows) + sum(1 for row in self.rows if row.own) <= SHORT_TABLE


def columns(name_label: str, sort: str | None = None,
            url_for_sort: Callable[[str], str] | None = None, anchor: str = "",
            with_rates: bool = False) -> list[Column]:
    """Return the columns of a breakdown: name, n, O and its verdict, S and its verdict.

    With rates (sectors and agencies, which receive dossiers), the dossiers received and
    the response rate follow n.
    """
    column_now, descending_now = parse_sort(sort)
    o_label, s_label = indicator_label(OVERALL), indicator_label(INDEX)
    verdict = _("Đánh giá")
    rates = [("dossiers", _("Hồ sơ tiếp nhận"), "", True),
             ("rate", _("Tỷ lệ phản hồi"), "", True)]
    wanted = [
        ("name", name_label, "", False),
        ("n", _("Số phiếu"), "", True),
        *(rates if with_rates else []),
        ("overall", o_label, "", True),
        ("overall_status", verdict, o_label, False),
        ("index", s_label, "", True),
        ("index_status", verdict, s_label, False),
    ]
    result = []
    for column, label, context, is_numeric in wanted:
        if url_for_sort is None:
            result.append(Column(column, label, context, is_numeric=is_numeric))
            continue
        if column == column_now:
            # A second click on the same column turns the order round.
            aria = "descending" if descending_now else "ascending"
            arrow = "▼" if descending_now else "▲"
            target = column if descending_now else "-" + column
        else:
            aria, arrow, target = "none", "", FIRST_DIRECTION[column] + column
        result.append(Column(column, label, context, f"{url_for_sort(target)}#{anchor}", aria,
                             arrow, is_numeric))
    return result


def rates_note(rows: Sequence[Row]) -> str:
    """Return what the rate columns mean, when some row has dossiers; else nothing."""
    if not any(row.rate is not None and row.rate.dossiers is not None for row in rows):
        return ""
    return _("Tỷ lệ phản hồi: phiếu được tính trên số hồ sơ tiếp nhận. «Cần xem lại»: tỷ lệ "
             "trên 100%, hoặc cao hơn nhiều so với các đơn vị khác, thường là dấu hiệu cán bộ "
             "trả lời thay người dân.")


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

