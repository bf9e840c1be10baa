"""What the export files hold, and how CSV and XLSX files are written safely.

A `Table` is a header and rows of plain values (text, numbers, local datetimes, None). The
tallies table is small and built at once; the responses table is a generator reading the
responses in keyset batches, so a year of a province never sits in memory. The writers
turn any table into a file:

- CSV: UTF-8 with a byte-order mark (so Excel reads Vietnamese correctly), CRLF line ends,
  yielded in chunks. Excel splits a CSV it opens by the list separator of the computer's
  regional settings and reads numbers with its decimal separator: with Vietnamese settings
  these are «;» and «,», so the Vietnamese file uses them (the English one «,» and «.»). A
  «sep=» first line would name the separator too, but Excel then ignores the byte-order mark
  and garbles the Vietnamese letters;
- XLSX: an openpyxl write-only workbook, which keeps rows in a temporary file, not in memory.

Each file says what it holds (period, filter, target year, time of export) in its first
rows (CSV) or on a sheet of its own (XLSX), and in its file name.

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
from datetime import date, datetime
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

from survey_app.models import Agency
from survey_app.questionnaire import (
    CURRENT,
    ELEMENT_KEYS,
    INTEGRITY_KEY,
    QUESTIONNAIRES,
    WISH_KEY,
    Questionnaire,
    questionnaire_of,
)
from survey_app.services.filters import ResolvedFilter
from survey_app.services.reports import ScopeFigures, agency_figures, build_report, load_target_book
from survey_app.services.responses import ANSWER_KEYS, iter_responses
from survey_app.services.tallies import TallyFilter, count_by_status
from survey_app.sipas import Indicator
from survey_app.web.i18n import current_language
from survey_app.web.labels import (
    INDICATOR_LABELS,
    rate_flag_label,
    source_label,
    verdict_label,
)

CSV_BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PERCENT_FORMAT = "0.0"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
DAY_FORMAT = "%d/%m/%Y"


@dataclass(frozen=True)
class About:
    """What a file holds: its period, its filter, the year of its targets, when it was made."""

    start: date
    end: date
    filter_text: str
    filter_codes: tuple[str, ...]  # for the file name
    target_year: int | None
    exported_at: datetime

    def rows(self) -> list[tuple[str, str]]:
        """Return the lines that open the file, as (label, value)."""
        period = _("%(start)s – %(end)s", start=self.start.strftime(DAY_FORMAT),
                   end=self.end.strftime(DAY_FORMAT))
        year = (str(self.target_year) if self.target_year is not None
                else _("Chưa có chỉ tiêu"))
        return [
            (_("Khoảng thời gian"), period),
            (_("Bộ lọc"), self.filter_text),
            (_("Năm chỉ tiêu"), year),
            (_("Thời điểm xuất"), self.exported_at.strftime("%d/%m/%Y %H:%M")),
        ]

    def file_name(self, name: str) -> str:
        """Return the file name (ASCII, without extension) that says the same."""
        parts = [name, self.start.isoformat(), self.end.isoformat(), *self.filter_codes]
        if self.target_year is not None:
            parts.append(f"targets-{self.target_year}")
        parts.append(self.exported_at.strftime("exported-%Y%m%d-%H%M"))
        return "_".join(part for part in parts if part.isascii())


def describe(session: Session, resolved: ResolvedFilter, exported_at: datetime,
             target_year: int | None = None) -> About:
    """Return what a download of this filter holds, in the page's language."""
    period = resolved.tally.period
    if target_year is None:
        target_year = load_target_book(session).year_for(period.end.year)
    lang = current_language()
    parts: list[str] = []
    codes: list[str] = []
    if resolved.agency is not None:
        parts.append(_("Đơn vị: %(name)s", name=resolved.agency.name))
        codes.append(resolved.agency.code)
    else:
        parts.append(_("Tất cả đơn vị trong phạm vi"))
    if resolved.counter is not None:
        parts.append(_("Quầy: %(name)s", name=resolved.counter.name))
        codes.append(f"counter-{resolved.counter.id}")
    if resolved.sector is not None:
        parts.append(_("Lĩnh vực: %(name)s", name=resolved.sector.label(lang)))
        codes.append(resolved.sector.code)
    else:
        parts.append(_("Tất cả lĩnh vực"))
    return About(period.start, period.end, "; ".join(parts), tuple(codes), target_year,
                 exported_at)


@dataclass
class Table:
    sheet_title: str
    header: list[str]
    rows: Iterable[Sequence[Any]]
    about: About
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


def _weighted(indicator: Indicator) -> Callable[[ScopeFigures], float | None]:
    def read(figures: ScopeFigures) -> float | None:
        return None if figures.weighted is None else figures.weighted.get(indicator)
    return read


def _rate_review(figures: ScopeFigures) -> str | None:
    """Return «Cần xem lại: <why>» when the response rate needs a review, else None."""
    if figures.rate_flag is None:
        return None
    return _("Cần xem lại: %(reason)s", reason=rate_flag_label(figures.rate_flag))


def _volumes_complete(figures: ScopeFigures) -> str | None:
    if figures.dossiers is None:
        return None
    return _("Có") if figures.volumes_complete else _("Không")


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
        # The source of the counted responses, the dossiers received and the rate.
        Column(_("Phiếu được tính qua mã QR tại quầy"), lambda f: f.by_source.get("counter", 0)),
        Column(_("Phiếu được tính qua giấy tiếp nhận"),
               lambda f: f.by_source.get("receipt", 0)),
        Column(_("Phiếu được tính qua máy tính bảng tại quầy"),
               lambda f: f.by_source.get("kiosk", 0)),
        Column(_("Số hồ sơ tiếp nhận"), lambda f: f.dossiers),
        Column(_("Số hồ sơ đủ cho mọi phiếu được tính"), _volumes_complete),
        Column(_("Tỷ lệ phản hồi (%)"), lambda f: f.response_rate, PERCENT_FORMAT),
        Column(_("Tỷ lệ phản hồi: xem lại"), _rate_review),
        Column(_("%(name)s, trọng số theo số hồ sơ (%%)", name=o_name), _weighted(overall),
               PERCENT_FORMAT),
        Column(_("%(name)s, trọng số theo số hồ sơ (%%)", name=s_name), _weighted(index),
               PERCENT_FORMAT),
    ]


def _rounded(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) else value


def tally_table(session: Session, resolved: ResolvedFilter, exported_at: datetime) -> Table:
    """Return one row per target scope, per sector, then per agency of the filter.

    An agency's row covers it and every agency below it, as its own filter does; an agency
    with agencies below it has a second row for its own counters alone.
    """
    flt = resolved.tally
    report = build_report(session, flt)
    lang = 1 if current_language() == "en" else 0  # labels: (vi, en)
    # With one sector chosen every scope would hold that sector's responses alone, each
    # judged by its own targets (investment against 90 as «all sectors»): as on the
    # dashboard, the sector's own row, judged by the targets that fit it, stands for them.
    named: list[tuple[str, str, str, ScopeFigures]] = [
        (_("Phạm vi chỉ tiêu"), key, report.scope_labels[key][lang], figures)
        for key, figures in report.scopes.items()
        if resolved.sector is None
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
    for row in agency_figures(session, flt, agencies, report.book, report.cells):
        if not row.total.raw_responses:
            continue
        named.append((_("Đơn vị (gồm các đơn vị trực thuộc)") if row.has_agencies_below
                      else _("Đơn vị"), row.agency.code, row.agency.name, row.total))
        if row.has_agencies_below:
            named.append((_("Đơn vị (riêng quầy của đơn vị)"), row.agency.code, row.agency.name,
                          row.own))
    columns = tally_columns()
    # Shares to one decimal, as the dashboard shows them, so the file and the screen agree.
    rows = [[kind, label, *(_rounded(c.value(figures)) for c in columns), key]
            for kind, key, label, figures in named]
    first = 2  # kind, name
    return Table(
        sheet_title=_("Tổng hợp"),
        # The code goes last: a column for scripts, out of the way of the reader.
        header=[_("Loại"), _("Tên"), *(c.header for c in columns), _("Mã")],
        rows=rows,
        about=describe(session, resolved, exported_at, report.target_year),
        formats={first + i: c.number_format for i, c in enumerate(columns) if c.number_format},
        row_count=len(rows),
    )


# Responses --------------------------------------------------------------------------------


def _labels(questionnaire: Questionnaire, key: str) -> dict[str, str]:
    question = questionnaire.question(key)
    choices = [*question.choices, *([question.na_choice] if question.na_choice else [])]
    return {choice.value: str(choice.label) for choice in choices}


def _status_label(status: str) -> str:
    labels = {"counted": _("Được tính"), "duplicate": _("Trùng mã hồ sơ"),
              "flagged": _("Bị đánh dấu")}
    return labels.get(status, status)


def response_columns() -> list[tuple[str, Callable[[dict[str, Any]], Any]]]:
    """Return the columns of the responses file: header, and how to read it off a response.

    Answers are written as the citizen read them, in the words of the questionnaire version
    the response was given (ratings stay the numbers 1 to 5); the codes the API uses follow
    in columns of their own, for scripts.
    """
    integrity = {v: _labels(q, INTEGRITY_KEY) for v, q in QUESTIONNAIRES.items()}
    wishes = {v: _labels(q, WISH_KEY) for v, q in QUESTIONNAIRES.items()}

    def version(item: dict[str, Any]) -> str:
        return questionnaire_of(item["questionnaire_version"]).version

    def answer(key: str) -> Callable[[dict[str, Any]], Any]:
        def read(item: dict[str, Any]) -> Any:
            value = item[key]
            if key == INTEGRITY_KEY and value is not None:
                return integrity[version(item)].get(str(value), value)
            return value
        return read

    def wished(item: dict[str, Any]) -> str:
        labels = wishes[version(item)]
        return "; ".join(label for w, label in labels.items() if w in item[WISH_KEY])

    questions = {q.key: q.number for q in CURRENT.questions}
    return [
        (_("Số phiếu"), lambda i: i["id"]),
        (_("Thời điểm gửi"), lambda i: datetime.fromisoformat(i["created_at"])),
        (_("Mã đơn vị"), lambda i: i["agency"]),
        (_("Quầy"), lambda i: i["counter"]),
        (_("Mã lĩnh vực"), lambda i: i["sector"]),
        (_("Mã phiếu"), lambda i: i["code"]),
        *((_("Câu %(number)d", number=questions[key]), answer(key)) for key in ANSWER_KEYS),
        (_("Câu %(number)d", number=questions[WISH_KEY]), wished),
        (_("Góp ý"), lambda i: i["comment"]),
        (_("Góp ý đã che thông tin cá nhân"),
         lambda i: _("Có") if i["comment_masked"] else _("Không")),
        (_("Trạng thái"), lambda i: _status_label(i["status"])),
        (_("Lý do (mã)"), lambda i: i["reason"]),
        (_("Ngôn ngữ"), lambda i: i["language"]),
        (_("Phiên bản bảng hỏi"), lambda i: i["questionnaire_version"]),
        (_("Trạng thái (mã)"), lambda i: i["status"]),
        (_("Câu %(number)d (mã)", number=questions[INTEGRITY_KEY]), lambda i: i[INTEGRITY_KEY]),
        (_("Câu %(number)d (mã)", number=questions[WISH_KEY]),
         lambda i: ";".join(i[WISH_KEY])),
        (_("Nguồn"), lambda i: source_label(i["source"])),
        (_("Nguồn (mã)"), lambda i: i["source"]),
    ]


def response_table(session: Session, flt: TallyFilter, zone: ZoneInfo, batch_size: int,
                   about: About) -> Table:
    """Return every response of the filter (any status), oldest first, read lazily."""
    columns = response_columns()
    rows = ([read(item) for _header, read in columns]
            for item in iter_responses(session, flt, zone, batch_size))
    return Table(
        sheet_title=_("Phiếu khảo sát"),
        header=[header for header, _read in columns],
        rows=rows,
        about=about,
        formats={1: DATETIME_FORMAT},
    )


def response_count(session: Session, flt: TallyFilter) -> int:
    """Return how many responses of any status the filter holds, from the rollups."""
    return sum(count_by_status(session, flt).get(None, {}).values())


# Writing ----------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Return text that a spreadsheet shows as typed instead of running it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_value(value: Any, decimal: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, float):
        return str(value).replace(".", decimal)
    if isinstance(value, str):
        return neutralise(value)
    return value


def csv_separators(language: str) -> tuple[str, str]:
    """Return the list separator and the decimal mark Excel expects in this language."""
    return (",", ".") if language == "en" else (";", ",")


def csv_chunks(table: Table, language: str, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """Yield the table as CSV bytes, a few hundred rows at a time, after what it holds."""
    delimiter, decimal = csv_separators(language)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    for label, value in table.about.rows():
        writer.writerow([_csv_value(label, decimal), _csv_value(value, decimal)])
    writer.writerow([])
    writer.writerow([_csv_value(name, decimal) for name in table.header])
    for number, row in enumerate(table.rows, 1):
        writer.writerow([_csv_value(value, decimal) for value in row])
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
    about = workbook.create_sheet(_("Thông tin")[:31])
    for label, value in table.about.rows():
        about.append([_xlsx_value(about, label, None), _xlsx_value(about, value, None)])
    workbook.save(out)
    return count
