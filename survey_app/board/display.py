"""The board's figures in words of the page's language: percentages, n, intervals, verdicts.

Rounded here only, to one decimal. A withheld figure has no value and no interval to
show: only why it is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from survey_app.services.board import SHIELDS, BoardFigures, BoardMeasure, BoardRow, Quarter
from survey_app.sipas import Indicator
from survey_app.web.labels import (
    INDICATOR_LABELS,
    answers_text,
    number,
    percent,
    responses_text,
    target_label,
    verdict_label,
)

SYMBOLS = {"met": "✓", "below": "✗", "uncertain": "?", "insufficient": "…", "none": ""}


def quarter_label(quarter: Quarter) -> str:
    return _("Quý %(number)d/%(year)d", number=quarter.number, year=quarter.year)


def quarter_span(quarter: Quarter) -> str:
    period = quarter.period
    return _("%(start)s – %(end)s", start=format_date(period.start, "dd/MM/yyyy"),
             end=format_date(period.end, "dd/MM/yyyy"))


@dataclass(frozen=True)
class MeasureText:
    label: str
    value: str  # «92,4%», or why it is withheld
    is_shown: bool
    n: str
    interval: str
    target: str
    verdict: str
    verdict_key: str  # met, below, uncertain, insufficient, none

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.verdict_key]


def measure_text(measure: BoardMeasure) -> MeasureText:
    is_overall = measure.indicator is Indicator.OVERALL
    n = answers_text(measure.n) if is_overall else responses_text(measure.n)
    target = target_label(measure.threshold)
    if not measure.is_shown:
        withheld = (_("Không công bố") if measure.withheld == SHIELDS else _("Chưa đủ mẫu"))
        return MeasureText(str(INDICATOR_LABELS[measure.indicator.value]), withheld, False, n,
                           "", target, withheld, "insufficient")
    assert measure.value is not None
    interval = "" if measure.interval is None else _(
        "Khoảng tin cậy 95%%: %(low)s – %(high)s",
        low=percent(measure.interval[0]), high=percent(measure.interval[1]))
    if measure.check is None:
        verdict, key = _("Chưa có chỉ tiêu"), "none"
    else:
        judgement = measure.check.judgement
        verdict = verdict_label(judgement)
        key = "uncertain" if judgement.uncertain else judgement.status.value
    return MeasureText(str(INDICATOR_LABELS[measure.indicator.value]), percent(measure.value),
                       True, n, interval, target, verdict, key)


@dataclass(frozen=True)
class RowText:
    name: str
    responses: str
    measures: list[MeasureText]


def row_text(row: BoardRow, locale: str) -> RowText:
    return RowText(
        row.label(locale),
        ngettext("%(count)s phiếu được tính", "%(count)s phiếu được tính", row.responses,
                 count=number(row.responses)),
        [measure_text(m) for m in row.measures.values()],
    )


@dataclass(frozen=True)
class BoardPage:
    figures: BoardFigures
    whole: RowText
    sectors: list[RowText]
    has_shielded: bool


def board_page(figures: BoardFigures, locale: str) -> BoardPage:
    rows = [figures.whole, *figures.sectors]
    return BoardPage(
        figures,
        row_text(figures.whole, locale),
        [row_text(row, locale) for row in figures.sectors],
        any(m.withheld == SHIELDS for row in rows for m in row.measures.values()),
    )
