"""Downloads of the tallies and of the raw responses, within the signed-in user's scope."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator

from flask import Response, abort, request, stream_with_context
from flask_login import current_user
from werkzeug.wsgi import wrap_file

from survey_app import audit
from survey_app.api.serialize import filter_error_status, filter_from_args, filter_summary
from survey_app.auth.access import roles_required
from survey_app.exports import bp, writers
from survey_app.extensions import db
from survey_app.scope_filters import FilterError, ResolvedFilter
from survey_app.tallies import deployment_zone

# Responses read per query while a file is written.
BATCH_SIZE = 1000
FORMATS = "any(csv, xlsx)"


@bp.get(f"/tallies.<{FORMATS}:fmt>")
@roles_required("admin", "manager")
def tallies(fmt: str) -> Response:
    """Download the figures of every target scope, sector and agency of a period."""
    resolved = _resolved_or_abort(statuses=("counted",))
    table = writers.tally_table(db.session, resolved.tally)
    return _download("tallies", fmt, resolved, lambda: table, table.row_count)


@bp.get(f"/responses.<{FORMATS}:fmt>")
@roles_required("admin", "manager")
def responses(fmt: str) -> Response:
    """Download every response of a period, whatever its status, with the reason why."""
    resolved = _resolved_or_abort(statuses=None)
    flt, zone, batch_size = resolved.tally, deployment_zone(), BATCH_SIZE

    def table() -> writers.Table:
        # Made when the rows are about to be read: a streamed CSV reads them after this
        # view has returned and its session was closed, on the session of the stream.
        return writers.response_table(db.session, flt, zone, batch_size)

    return _download("responses", fmt, resolved, table, writers.response_count(db.session, flt))


def _resolved_or_abort(statuses: tuple[str, ...] | None) -> ResolvedFilter:
    try:
        return filter_from_args(
            db.session, current_user._get_current_object(), request.args, statuses
        )
    except FilterError as error:
        abort(filter_error_status(error))


def _download(
    name: str,
    fmt: str,
    resolved: ResolvedFilter,
    make_table: Callable[[], writers.Table],
    rows: int | None,
) -> Response:
    """Record the download (committed before the first byte goes out), then send the file."""
    period = resolved.tally.period
    parts = [name, period.start.isoformat(), period.end.isoformat()]
    if resolved.agency is not None:
        parts.append(resolved.agency.code)
    filename = "_".join(parts) + "." + fmt
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        # Comments and figures of a scope belong to the person who asked, not to a cache.
        "Cache-Control": "no-store",
    }
    if fmt == "csv":
        _audit(name, fmt, rows)

        def chunks() -> Iterator[bytes]:
            yield from writers.csv_chunks(make_table())

        return Response(
            stream_with_context(chunks()),
            mimetype=writers.CSV_MIMETYPE,
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
        filters=filter_summary(request.args),
        rows=rows,
    )
    db.session.commit()
