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
from collections.abc import Iterable, Iterator, Sequence
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

from survey_app.api.serialize import RESPONSE_FIELDS, iter_responses, scope_dict
from survey_app.i18n import current_language
from survey_app.labels import STATUS_LABELS, target_group_label
from survey_app.models import TARGET_GROUPS, Agency
from survey_app.reports import ALL, POOLED, THRESHOLD_COLUMNS, build_report, grouped_figures
from survey_app.sipas import ELEMENT_KEYS
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


def _scope_label(scope: str) -> str:
    if scope == ALL:
        return _("Tất cả lĩnh vực")
    if scope == POOLED:
        return _("Đất đai, xây dựng, đầu tư (gộp)")
    return target_group_label(scope) if scope in TARGET_GROUPS else scope


def _tally_columns() -> list[tuple[str, bool]]:
    """Return the header of each column, and whether it holds a percentage."""
    columns = [
        (_("Loại"), False),
        (_("Mã"), False),
        (_("Tên"), False),
        (_("Phiếu được tính"), False),
        (_("Phiếu không được tính"), False),
        (_("Chỉ số SIPAS (%)"), True),
        (_("Chỉ số SIPAS: cận dưới 95%"), True),
        (_("Chỉ số SIPAS: cận trên 95%"), True),
    ]
    for number in range(1, len(ELEMENT_KEYS) + 1):
        columns += [
            (_("Yếu tố %(number)d: tỷ lệ hài lòng (%%)", number=number), True),
            (_("Yếu tố %(number)d: số phiếu hợp lệ", number=number), False),
        ]
    return columns + [
        (_("Hài lòng chung (%)"), True),
        (_("Hài lòng chung: số phiếu hợp lệ"), False),
        (_("Không bị phiền hà (%)"), True),
        (_("Không bị phiền hà: số phiếu hợp lệ"), False),
        (_("Mục tiêu (%)"), True),
        (_("Đánh giá"), False),
        (_("Ghi chú"), False),
    ]


def _tally_row(kind: str, key: str, label: str, figures: dict[str, Any]) -> list[Any]:
    row: list[Any] = [
        kind,
        key,
        label,
        figures["responses"],
        figures["flagged"],
        figures["sipas_index"],
        figures["sipas_ci_low"],
        figures["sipas_ci_high"],
    ]
    for element in ELEMENT_KEYS:
        row += [figures["elements"][element]["share"], figures["elements"][element]["valid"]]
    row += [
        figures["overall"]["share"],
        figures["overall"]["valid"],
        figures["integrity"]["share"],
        figures["integrity"]["valid"],
    ]
    target = figures["targets"][0] if figures["targets"] else None
    if target is None:
        row += [None, None, None]
    else:
        row += [
            target["threshold"],
            str(STATUS_LABELS[target["status"]]),
            _("chưa chắc chắn") if target["uncertain"] else None,
        ]
    return row


def tally_table(session: Session, flt: TallyFilter) -> Table:
    """Return one row per target scope, per sector, then per agency of the filter."""
    report = build_report(session, flt)
    rows = [
        _tally_row(_("Phạm vi"), key, _scope_label(key), scope_dict(figures))
        for key, figures in report.scopes.items()
    ]
    lang = 1 if current_language() == "en" else 0  # sector_labels: (vi, en)
    rows += [
        _tally_row(_("Lĩnh vực"), code, report.sector_labels[code][lang], scope_dict(figures))
        for code, figures in report.sectors.items()
    ]
    threshold = getattr(report.target_year, THRESHOLD_COLUMNS[ALL]) if report.target_year else None
    by_agency = grouped_figures(session, flt, "agency", threshold, report.min_sample)
    agencies = session.scalars(select(Agency).where(Agency.id.in_(list(by_agency))))
    # The province first, then its communes, each by name.
    for agency in sorted(agencies, key=lambda a: (a.level != "province", a.name, a.code)):
        rows.append(
            _tally_row(_("Đơn vị"), agency.code, agency.name, scope_dict(by_agency[agency.id]))
        )
    columns = _tally_columns()
    return Table(
        sheet_title=_("Tổng hợp"),
        header=[name for name, _is_percent in columns],
        rows=rows,
        formats={i: PERCENT_FORMAT for i, (_name, is_percent) in enumerate(columns) if is_percent},
        row_count=len(rows),
    )


# Responses --------------------------------------------------------------------------------


def _response_row(item: dict[str, Any]) -> list[Any]:
    values = {
        **item,
        "created_at": datetime.fromisoformat(item["created_at"]),
        "q8": ";".join(item["q8"]),
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
