"""What the export files hold, and how CSV and XLSX files are written safely.

A `Table` is a header and rows of plain values (text, numbers, local datetimes, None). The
tallies table is small and built at once; the responses table is a generator reading the
responses in keyset batches, so a year of a province never sits in memory. The writers
turn any table into a file:

- CSV: UTF-8 with a byte-order mark (so Excel reads Vietnamese correctly), CRLF line ends,
  yielded in chunks;
- XLSX: an openpyxl write-only workbook, which keeps rows in a temporary file, not in memory.

Spreadsheets run text that looks like a formula. Every text cell that begins with = + - @,
a tab or a carriage return is written as text: with a leading apostrophe in CSV (Excel's
own "this is text" mark), and as an explicit string cell in XLSX, which Excel never
evaluates, so the text itself stays unchanged there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.api.serialize import RESPONSE_FIELDS, iter_responses
from survey_app.i18n import current_language
from survey_app.labels import INDICATOR_LABELS, verdict_label
from survey_app.models import Agency
from survey_app.questionnaire import ELEMENT_KEYS, WISH_KEY
from survey_app.reports import ScopeFigures, agency_figures, build_report
from survey_app.sipas import Indicator
from survey_app.tallies import TallyFilter, count_by_status

CSV_BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PERCENT_FORMAT = "0.0"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"



@dataclass
class Table:
    sheet_title: str
    header: list[str]
    rows: Iterable[Sequence[Any]]
    # Spreadsheet number formats by column index (XLSX only).
    formats: dict[int, str] = field(default_factory=dict)
    # Known before the rows are read (for the audit log), or None.
    row_count: int | None = None


# Tallies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the tallies file: its header, how to read it off a figure, its format."""

    header: str
    value: Callable[[ScopeFigures], Any]
    number_format: str | None = None


def _interval_bound(interval: tuple[float, float] | None, index: int) -> float | None:
    return None if interval is None else interval[index]


def _verdict(indicator: Indicator) -> Callable[[ScopeFigures], str | None]:
    def read(figures: ScopeFigures) -> str | None:
        check = figures.target(indicator)
        return None if check is None else verdict_label(check.judgement)
    return read


def _threshold(indicator: Indicator) -> Callable[[ScopeFigures], float | None]:
    def read(figures: ScopeFigures) -> float | None:
        check = figures.target(indicator)
        return None if check is None else check.threshold
    return read


def _element(key: str, what: str) -> Callable[[ScopeFigures], Any]:
    def read(figures: ScopeFigures) -> Any:
        share = figures.scores.elements[key]
        return share.share if what == "share" else share.valid
    return read


def tally_columns() -> list[Column]:
    """Return the columns of the tallies file, in the page's language.

    Each indicator's verdict is one cell, «Đạt (chưa chắc chắn)» included, so copying the
    figure with its verdict never drops the qualifier.
    """
    overall, index = Indicator.OVERALL, Indicator.SIPAS_INDEX
    o_name, s_name = str(INDICATOR_LABELS[overall.value]), str(INDICATOR_LABELS[index.value])
    columns = [
        Column(_("Phiếu được tính"), lambda f: f.responses),
        Column(_("Phiếu không được tính"), lambda f: f.not_counted),
        Column(_("Trong đó: trùng mã hồ sơ"), lambda f: f.by_status.get("duplicate", 0)),
        Column(_("Trong đó: bị đánh dấu"), lambda f: f.by_status.get("flagged", 0)),
        Column(_("%(name)s (%%)", name=o_name), lambda f: f.scores.overall.share, PERCENT_FORMAT),
        Column(_("%(name)s: cận dưới 95%%", name=o_name), lambda f: f.scores.overall.ci_low,
               PERCENT_FORMAT),
        Column(_("%(name)s: cận trên 95%%", name=o_name), lambda f: f.scores.overall.ci_high,
               PERCENT_FORMAT),
        Column(_("%(name)s: số phiếu hợp lệ", name=o_name), lambda f: f.scores.overall.valid),
        Column(_("%(name)s: chỉ tiêu (%%)", name=o_name), _threshold(overall), PERCENT_FORMAT),
        Column(_("%(name)s: kết quả so với chỉ tiêu", name=o_name), _verdict(overall)),
        Column(_("%(name)s (%%)", name=s_name), lambda f: f.scores.sipas_index, PERCENT_FORMAT),
        Column(_("%(name)s: cận dưới 95%%", name=s_name), lambda f: f.scores.sipas_low,
               PERCENT_FORMAT),
        Column(_("%(name)s: cận trên 95%%", name=s_name), lambda f: f.scores.sipas_high,
               PERCENT_FORMAT),
        Column(_("%(name)s: chỉ tiêu (%%)", name=s_name), _threshold(index), PERCENT_FORMAT),
        Column(_("%(name)s: kết quả so với chỉ tiêu", name=s_name), _verdict(index)),
    ]
    for number, key in enumerate(ELEMENT_KEYS, start=1):
        columns += [
            Column(_("Yếu tố %(number)d: tỷ lệ hài lòng (%%)", number=number),
                   _element(key, "share"), PERCENT_FORMAT),
            Column(_("Yếu tố %(number)d: số phiếu hợp lệ", number=number), _element(key, "valid")),
        ]
    return columns + [
        Column(_("Không bị phiền hà (%)"), lambda f: f.scores.integrity.share, PERCENT_FORMAT),
        Column(_("Không bị phiền hà: số phiếu hợp lệ"), lambda f: f.scores.integrity.valid),
        Column(_("Tất cả phiếu đã lưu"), lambda f: f.raw_responses),
        Column(_("%(name)s, mọi phiếu đã lưu (%%)", name=o_name),
               lambda f: f.raw_scores.overall.share, PERCENT_FORMAT),
        Column(_("%(name)s, mọi phiếu đã lưu (%%)", name=s_name),
               lambda f: f.raw_scores.sipas_index, PERCENT_FORMAT),
    ]


def tally_table(session: Session, flt: TallyFilter) -> Table:
    """Return one row per target scope, per sector, then per agency of the filter.

    An agency's row covers it and every agency below it, as its own filter does; an agency
    with agencies below it has a second row for its own counters alone.
    """
    report = build_report(session, flt)
    lang = 1 if current_language() == "en" else 0  # labels: (vi, en)
    named: list[tuple[str, str, str, ScopeFigures]] = [
        (_("Phạm vi chỉ tiêu"), key, report.scope_labels[key][lang], figures)
        for key, figures in report.scopes.items()
    ]
    named += [
        (_("Lĩnh vực"), code, report.sector_labels[code][lang], figures)
        for code, figures in report.sectors.items()
    ]
    query = select(Agency)
    if flt.agency_ids is not None:
        query = query.where(Agency.id.in_(sorted(flt.agency_ids)))
    # The province first, then its communes, each by name.
    agencies = sorted(session.scalars(query), key=lambda a: (a.level != "province", a.name,
                                                             a.code))
    for row in agency_figures(session, flt, agencies, report.book):
        if not row.total.raw_responses:
            continue
        named.append((_("Đơn vị (gồm các đơn vị trực thuộc)") if row.has_agencies_below
                      else _("Đơn vị"), row.agency.code, row.agency.name, row.total))
        if row.has_agencies_below:
            named.append((_("Đơn vị (riêng quầy của đơn vị)"), row.agency.code, row.agency.name,
                          row.own))
    columns = tally_columns()
    rows = [[kind, key, label, *(c.value(figures) for c in columns)]
            for kind, key, label, figures in named]
    first = 3  # kind, code, name
    return Table(
        sheet_title=_("Tổng hợp"),
        header=[_("Loại"), _("Mã"), _("Tên"), *(c.header for c in columns)],
        rows=rows,
        formats={first + i: c.number_format for i, c in enumerate(columns) if c.number_format},
        row_count=len(rows),
    )


# Responses --------------------------------------------------------------------------------


def _response_row(item: dict[str, Any]) -> list[Any]:
    values = {
        **item,
        "created_at": datetime.fromisoformat(item["created_at"]),
        WISH_KEY: ";".join(item[WISH_KEY]),
    }
    return [values[name] for name in RESPONSE_FIELDS]


def response_table(session: Session, flt: TallyFilter, zone: ZoneInfo, batch_size: int) -> Table:
    """Return every response of the filter (any status), oldest first, read lazily."""
    rows = (_response_row(item) for item in iter_responses(session, flt, zone, batch_size))
    created_at = RESPONSE_FIELDS.index("created_at")
    # The columns are the API's field names, so scripts read the file and the API alike.
    return Table(
        sheet_title=_("Phiếu khảo sát"),
        header=list(RESPONSE_FIELDS),
        rows=rows,
        formats={created_at: DATETIME_FORMAT},
    )


def response_count(session: Session, flt: TallyFilter) -> int:
    """Return how many responses of any status the filter holds, from the rollups."""
    return sum(count_by_status(session, flt).get(None, {}).values())


# Writing ----------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Return text that a spreadsheet shows as typed instead of running it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return value


def csv_chunks(table: Table, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """Yield the table as CSV bytes, a few hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    writer.writerow([_csv_value(name) for name in table.header])
    for number, row in enumerate(table.rows, 1):
        writer.writerow([_csv_value(value) for value in row])
        if number % rows_per_chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_value(sheet: WriteOnlyWorksheet, value: Any, number_format: str | None) -> Any:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        # openpyxl reads "=..." as a formula (and "#N/A" as an error): force plain text.
        cell.data_type = "s"
        return cell
    if isinstance(value, datetime):
        # Excel has no time zones: the local wall-clock time, as the column says.
        value = value.replace(tzinfo=None)
    if number_format is None or value is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def write_xlsx(table: Table, out: IO[bytes]) -> int:
    """Write the table as an XLSX workbook into `out`; return the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.sheet_title[:31])
    sheet.freeze_panes = "A2"
    header = []
    for name in table.header:
        cell = _xlsx_value(sheet, name, None)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in table.rows:
        sheet.append(
            [_xlsx_value(sheet, value, table.formats.get(i)) for i, value in enumerate(row)]
        )
        count += 1
    workbook.save(out)
    return count
