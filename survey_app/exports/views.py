"""Downloads of the tallies and of the raw responses, within the signed-in user's scope."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime

from flask import Response, abort, request, stream_with_context
from flask_login import current_user
from werkzeug.wsgi import wrap_file

from survey_app.exports import bp, writers
from survey_app.extensions import db, reads_from_replica
from survey_app.services import audit
from survey_app.services.filters import FilterError, ResolvedFilter, filter_error_status, resolve
from survey_app.services.periods import deployment_zone
from survey_app.web.access import permission_required
from survey_app.web.filter_forms import DashboardFilterForm, QuarterReportForm
from survey_app.web.i18n import current_language

# Responses read per query while a file is written.
BATCH_SIZE = 1000
FORMATS = "any(csv, xlsx)"
# The query parameters a download reads, as the pages name them (for the audit log).
FILTER_PARAMETERS = ("period", "from", "to", "year", "quarter", "agency", "counter", "sector")


@bp.get(f"/tallies.<{FORMATS}:fmt>")
@permission_required("figures.export")
@reads_from_replica
def tallies(fmt: str) -> Response:
    """Download the figures of every target scope, sector and agency of a period."""
    resolved = _resolved_or_abort(statuses=("counted",))
    table = writers.tally_table(db.session, resolved, datetime.now(deployment_zone()))
    return _download("tallies", fmt, table.about, lambda: table, table.row_count)


@bp.get(f"/responses.<{FORMATS}:fmt>")
@permission_required("figures.export")
@reads_from_replica
def responses(fmt: str) -> Response:
    """Download every response of a period, whatever its status, with the reason why."""
    resolved = _resolved_or_abort(statuses=None)
    flt, zone, batch_size = resolved.tally, deployment_zone(), BATCH_SIZE
    about = writers.describe(db.session, resolved, datetime.now(deployment_zone()))

    def table() -> writers.Table:
        # Made when the rows are about to be read: a streamed CSV reads them after this
        # view has returned and its session was closed, on the session of the stream.
        return writers.response_table(db.session, flt, zone, batch_size, about)

    return _download("responses", fmt, about, table, writers.response_count(db.session, flt))


def _resolved_or_abort(statuses: tuple[str, ...] | None) -> ResolvedFilter:
    """Read the filters with the form of the page the download was clicked on.

    The quarterly report names a year and a quarter; the dashboard a preset period or two
    dates (dd/mm/yyyy as typed, or yyyy-mm-dd), with a counter perhaps.
    """
    form: DashboardFilterForm | QuarterReportForm
    if request.args.get("year") or request.args.get("quarter"):
        form = QuarterReportForm(formdata=request.args)
    else:
        today = datetime.now(deployment_zone()).date()
        form = DashboardFilterForm(formdata=request.args, today=today)
    if not form.validate() or form.chosen_period is None:
        abort(400)
    counter_id = form.counter_id if isinstance(form, DashboardFilterForm) else None
    try:
        return resolve(
            db.session,
            current_user._get_current_object(),
            form.chosen_period,
            agency_code=form.agency.data or None,
            counter_id=counter_id,
            sector_code=form.sector.data or None,
            statuses=statuses,
        )
    except FilterError as error:
        abort(filter_error_status(error))


def _download(
    name: str,
    fmt: str,
    about: writers.About,
    make_table: Callable[[], writers.Table],
    rows: int | None,
) -> Response:
    """Record the download (committed before the first byte goes out), then send the file."""
    filename = about.file_name(name) + "." + fmt
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        # Comments and figures of a scope belong to the person who asked, not to a cache.
        "Cache-Control": "no-store",
    }
    if fmt == "csv":
        _audit(name, fmt, rows)

        language = current_language()

        def chunks() -> Iterator[bytes]:
            yield from writers.csv_chunks(make_table(), language)

        return Response(
            stream_with_context(chunks()),
            content_type=writers.CSV_CONTENT_TYPE,
            headers=headers,
        )
    # A ZIP archive can only be finished once every row is in it, so the workbook is
    # written to a temporary file first (openpyxl's write-only mode keeps the rows on disk,
    # not in memory), then sent in chunks; the file disappears when the download closes.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        rows = writers.write_xlsx(make_table(), out)
        size = out.tell()
        out.seek(0)
        _audit(name, fmt, rows)
    except BaseException:
        out.close()  # otherwise the response closes it, once sent
        raise
    headers["Content-Length"] = str(size)
    return Response(
        wrap_file(request.environ, out, buffer_size=64 * 1024),
        mimetype=writers.XLSX_MIMETYPE,
        headers=headers,
        direct_passthrough=True,
    )


def _audit(name: str, fmt: str, rows: int | None) -> None:
    audit.record(
        db.session,
        "export.downloaded",
        kind=f"{name}.{fmt}",
        filters={k: request.args[k] for k in FILTER_PARAMETERS if request.args.get(k)},
        rows=rows,
    )
    db.session.commit()
