"""Response rates, responses by source and volume-weighted figures equal a naive recount.

The recount here reads the responses table response by response and the stored volumes row
by row (tests/oracle.py style): the report must give the same counted responses by source,
dossiers, rates, coverage and weighted O and S for every scope, sector and agency of any
filter. Then the marks of an implausible rate, the receipts answered, and what the API,
the exports and the dashboard show.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from survey_app import sipas
from survey_app.extensions import db
from survey_app.models import (
    Agency,
    DossierDigest,
    DossierVolume,
    MintedReceipt,
    ReceiptKey,
    Response,
    Sector,
    SurveyCode,
)
from survey_app.questionnaire import CURRENT
from survey_app.services import rollups, volumes
from survey_app.services.periods import Period, deployment_zone, local_date, month_start
from survey_app.services.rates import ABOVE_100, FAR_ABOVE_PEERS
from survey_app.services.reports import ScopeFigures, agency_figures, build_report
from survey_app.services.responses import matching
from survey_app.services.tallies import TallyFilter
from survey_app.sipas import Indicator
from tests import oracle
from tests.factories import api_get as api
from tests.factories import create_agency, create_code, token_for_user

VN = ZoneInfo("Asia/Ho_Chi_Minh")
JAN_FEB = Period(date(2025, 1, 1), date(2025, 2, 28))
Q1 = Period(date(2025, 1, 1), date(2025, 3, 31))


def local(y: int, m: int, d: int, hh: int = 9) -> datetime:
    return datetime(y, m, d, hh, tzinfo=VN).astimezone(UTC)


def answers(rng: random.Random, **fixed: Any) -> dict[str, Any]:
    def pick() -> str:
        return rng.choice(["2", "3", "4", "4", "5", "5"])

    return {"q1": pick(), "q2": pick(), "q3": pick(), "q4": rng.choice(["na", pick()]),
            "q5": rng.choice(["na", pick()]), "q6": pick(), "q7": None, "q8": [],
            "comment": None, "dossier": None, **fixed}


# Counted responses per code in January and February, and the dossiers of each cell: with one
# more response of XA-A's land and XA-B's dossiers of land (below), the rates of the agencies'
# own counters are 10%, 11%, 8.3%, 150% (XA-C) and 40% (XA-D).
CELLS = {
    # (agency, counter, sector, kind): (responses, {date written as loaded: dossiers})
    ("TINH", "Quầy 5", "XAY_DUNG", "counter"): (10, {"2025-01": 70, "2025-02": 70}),
    ("TINH", "Giấy hẹn", "XAY_DUNG", "receipt"): (4, {}),
    ("XA-A", "Quầy 1", "DAT_DAI", "counter"): (12, {"2025-01-05": 75, "2025-02-10": 75}),
    ("XA-A", "Giấy hẹn", "DAT_DAI", "receipt"): (3, {}),
    ("XA-A", "Quầy 2", "HO_TICH", "counter"): (6, {"2025-01-31": 20, "2025-02-01": 30}),
    ("XA-B", "Quầy 1", "HO_TICH", "counter"): (8, {"2025-01": 50, "2025-02": 40}),
    ("XA-B", "Quầy 2", "DAU_TU", "counter"): (4, {"2025-01-15": 30, "2025-02-15": 0}),
    ("XA-C", "Quầy 1", "DAT_DAI", "counter"): (9, {"2025-01": 3, "2025-02": 3}),
    ("XA-D", "Quầy 1", "HO_TICH", "counter"): (10, {"2025-01": 12, "2025-02": 13}),
}
# March: every cell has dossiers but XA-D's, whose March response is then not covered.
MARCH = {("TINH", "XAY_DUNG"): 60, ("XA-A", "DAT_DAI"): 70, ("XA-A", "HO_TICH"): 30,
         ("XA-B", "HO_TICH"): 45, ("XA-B", "DAU_TU"): 10, ("XA-C", "DAT_DAI"): 3}


@pytest.fixture
def rated(app, world):
    """Five agencies, counter and receipt codes, responses over Q1 2025 and the dossiers."""
    rng = random.Random(16)
    with app.app_context():
        province = db.session.get(Agency, world.province_id)
        agencies = {"TINH": province, "XA-A": db.session.get(Agency, world.a_id),
                    "XA-B": db.session.get(Agency, world.b_id),
                    "XA-C": create_agency("XA-C", "Xã C", "commune", province),
                    "XA-D": create_agency("XA-D", "Xã D", "commune", province)}
        codes = {}
        for (agency, counter, sector, kind), (n, _loaded) in CELLS.items():
            code = create_code(agencies[agency], counter, sector)
            code.kind = kind
            db.session.flush()
            codes[(agency, sector, kind)] = code
            for i in range(n):
                day = local(2025, 1 + i % 2, 1 + (7 * i) % 28, 8 + i % 8)
                record(code, day, answers(rng), f"{code.code}-{i}")
        # Not counted: a flagged response and a duplicate dossier; outside: April.
        land = codes[("XA-A", "DAT_DAI", "counter")]
        rollups.change_status(db.session, record(land, local(2025, 2, 3), answers(rng), "f"),
                              "flagged", "manual:abuse")
        record(land, local(2025, 2, 4), answers(rng, dossier="HS-9"), "d1")
        record(land, local(2025, 2, 5), answers(rng, dossier="HS-9"), "d2")  # the duplicate
        record(land, local(2025, 4, 2), answers(rng), "april")
        # March: one response per cell, and XA-D's without dossiers.
        for (_agency, _sector, kind), code in codes.items():
            if kind == "counter":
                record(code, local(2025, 3, 10), answers(rng), f"{code.code}-march")
        rows = [volumes.VolumeRow(f"test {n}", agency, sector, when, received)
                for n, (agency, sector, when, received) in enumerate([
                    *((a, s, when, received) for (a, _c, s, _k), (_n, loaded) in CELLS.items()
                      for when, received in loaded.items()),
                    *((a, s, "2025-03", received) for (a, s), received in MARCH.items()),
                    ("XA-B", "DAT_DAI", "2025-01", 25),  # dossiers without any response
                    ("XA-A", "DAT_DAI", "2025-04", 500),  # after the period
                ])]
        volumes.load(db.session, rows, visible=None, today=date(2026, 1, 1))
        db.session.commit()
        return {code: survey_code.id for code, survey_code in codes.items()}


def record(code: SurveyCode, when: datetime, values: dict[str, Any], nonce: str) -> Response:
    from survey_app.services.recording import record_response

    response, _ = record_response(db.session, code, CURRENT, values, nonce, "vi", now=when)
    return response


# The naive recount ----------------------------------------------------------------------------


def recount(flt: TallyFilter, agency_ids: Collection[int] | None,
            sector_ids: Collection[int] | None) -> dict[str, Any]:
    """Count, from the responses and volume rows themselves, what a figure's rate holds."""
    session = db.session

    def within(agency_id: int, sector_id: int) -> bool:
        return ((agency_ids is None or agency_id in agency_ids)
                and (sector_ids is None or sector_id in sector_ids))

    counted = TallyFilter(flt.period, flt.agency_ids, flt.counter_id, flt.sector_ids,
                          ("counted",))
    zone = deployment_zone()
    by_source = {"counter": 0, "receipt": 0, "kiosk": 0}
    months_answered = set()
    for response in session.scalars(select(Response).where(*matching(counted, zone))):
        if within(response.agency_id, response.sector_id):
            by_source[response.survey_code.kind] += 1
            months_answered.add((response.agency_id, response.sector_id,
                                 month_start(local_date(response.created_at, zone))))
    loaded = [
        v for v in session.scalars(select(DossierVolume))
        if flt.counter_id is None and flt.period.start <= v.day <= flt.period.end
        and (flt.agency_ids is None or v.agency_id in flt.agency_ids)
        and (flt.sector_ids is None or v.sector_id in flt.sector_ids)
    ]
    mine = [v for v in loaded if within(v.agency_id, v.sector_id)]
    dossiers = sum(v.received for v in mine) if mine else None
    months_loaded = {(v.agency_id, v.sector_id, month_start(v.day)) for v in mine}
    complete = bool(loaded) and months_answered <= months_loaded
    responses = sum(by_source.values())
    weighted = None
    if complete and dossiers:
        parts = []
        for sector_id in {s for _a, s, _m in months_answered}:
            weight = sum(v.received for v in mine if v.sector_id == sector_id)
            scores = sipas.score(oracle.naive_recount(session, TallyFilter(
                flt.period, flt.agency_ids, flt.counter_id, frozenset({sector_id}))))
            parts.append((weight, scores))
        weighted = {}
        for indicator in Indicator:
            pairs = [(w, sipas.indicator_value(s, indicator)) for w, s in parts]
            pairs = [(w, v) for w, v in pairs if w > 0 and v is not None]
            total = sum(w for w, _v in pairs)
            weighted[indicator] = sum(w * v for w, v in pairs) / total if total else None
    return {
        "by_source": by_source,
        "dossiers": dossiers,
        "response_rate": 100 * responses / dossiers if dossiers else None,
        "volumes_complete": complete,
        "weighted": weighted,
    }


def shown(figures: ScopeFigures, with_weighted: bool = True) -> dict[str, Any]:
    """What the report says of a figure's rate, in the recount's terms."""
    weighted = figures.weighted
    return {
        "by_source": figures.by_source,
        "dossiers": figures.dossiers,
        "response_rate": figures.response_rate,
        "volumes_complete": figures.volumes_complete,
        "weighted": (None if weighted is None else
                     {i: pytest.approx(v) if v is not None else None
                      for i, v in weighted.items()}) if with_weighted else None,
    }


def ids_of(model: Any, codes: Collection[str]) -> frozenset[int]:
    return frozenset(db.session.scalars(select(model.id).where(model.code.in_(codes))))


FILTERS = [
    # (period, agencies, sectors, counter of)
    (JAN_FEB, None, None, None),
    (Q1, None, None, None),  # XA-D's March response has no dossiers: not complete
    (Period(date(2025, 1, 10), date(2025, 2, 14)), None, None, None),  # partial months
    (JAN_FEB, ("XA-A", "XA-B"), None, None),
    (Q1, ("XA-A",), ("DAT_DAI",), None),
    (JAN_FEB, None, ("HO_TICH", "DAU_TU"), None),
    (JAN_FEB, ("XA-A",), None, ("XA-A", "DAT_DAI", "counter")),  # a counter: no dossiers
]


@pytest.mark.parametrize("case", range(len(FILTERS)))
def test_rates_and_weighted_figures_equal_a_recount(app, rated, case):
    period, agencies, sectors, counter_of = FILTERS[case]
    with app.app_context():
        counter_id = (db.session.get(SurveyCode, rated[counter_of]).counter_id
                      if counter_of else None)
        flt = TallyFilter(period, ids_of(Agency, agencies) if agencies else None, counter_id,
                          ids_of(Sector, sectors) if sectors else None)
        report = build_report(db.session, flt)
        sector_ids = {s.code: s.id for s in db.session.scalars(select(Sector))}
        for code, figures in report.scopes.items():
            scope = report.book.scope(code)
            assert shown(figures) == recount(flt, None, scope.sector_ids), code
        for code, figures in report.sectors.items():
            assert shown(figures) == recount(flt, None, {sector_ids[code]}), code
        every = list(db.session.scalars(select(Agency).order_by(Agency.code)))
        listed = [a for a in every if flt.agency_ids is None or a.id in flt.agency_ids]
        for row in agency_figures(db.session, flt, listed, report.book, report.cells):
            own = recount(flt, {row.agency.id}, None)
            assert shown(row.own, with_weighted=False) == {**own, "weighted": None}
            below = {a.id for a in every if a.id == row.agency.id
                     or (a.parent_id == row.agency.id)}
            total = recount(flt, below, None)
            assert shown(row.total, with_weighted=False) == {**total, "weighted": None}


def test_the_counted_responses_by_source_add_up_to_the_counted_responses(app, rated):
    with app.app_context():
        report = build_report(db.session, TallyFilter(Q1))
        for figures in [*report.scopes.values(), *report.sectors.values()]:
            assert sum(figures.by_source.values()) == figures.responses
        everything = report.scopes["all"]
        # 59 in January and February, one more of XA-A's land, one a code in March.
        assert everything.by_source == {"counter": 59 + 1 + 7, "receipt": 7, "kiosk": 0}
        assert everything.receipt_share == pytest.approx(100 * 7 / 74)
        # Each source's own figures, side by side, pool back to the whole.
        assert report.sources["receipt"].responses == 7
        assert sipas.pool(f.counts for f in report.sources.values()) == everything.counts


def test_a_scope_weighted_by_dossiers_differs_from_the_pooled_figure(app, rated):
    """The sectors' shares of the dossiers are not their shares of the answers: O moves."""
    with app.app_context():
        report = build_report(db.session, TallyFilter(JAN_FEB))
        everything = report.scopes["all"]
        assert everything.weighted is not None and everything.pooled_sectors == 4
        assert everything.weighted[Indicator.OVERALL] != pytest.approx(
            everything.scores.overall.share)
        # Within the sector itself, weighting changes nothing.
        land = report.sectors["DAT_DAI"]
        assert land.weighted == {Indicator.OVERALL: pytest.approx(land.scores.overall.share),
                                 Indicator.SIPAS_INDEX: pytest.approx(land.scores.sipas_index)}
        # Q1: XA-D's March response has no dossiers, so neither «all» nor civil status is
        # weighted, and no rate of theirs is judged; land still is.
        q1 = build_report(db.session, TallyFilter(Q1))
        assert q1.scopes["all"].weighted is None and not q1.scopes["all"].volumes_complete
        assert q1.sectors["HO_TICH"].weighted is None
        assert q1.scopes["LAND"].weighted is not None


def test_weighted_indicators_weigh_each_part_by_its_count():
    def scores(satisfied: int, valid: int) -> sipas.Scores:
        ratings = {q: {5: satisfied, 2: valid - satisfied} for q in ("q1", "q2", "q3", "q6")}
        return sipas.score(sipas.AnswerCounts(responses=valid, ratings=ratings))

    weighted = sipas.weighted_indicators([(300, scores(9, 10)), (100, scores(5, 10)),
                                          (0, scores(0, 10))])
    assert weighted == {Indicator.OVERALL: 80.0, Indicator.SIPAS_INDEX: 80.0}
    assert sipas.weighted_indicators([(0, scores(9, 10))]) == {
        Indicator.OVERALL: None, Indicator.SIPAS_INDEX: None}


# Implausible rates -----------------------------------------------------------------------------


def test_a_rate_above_100_or_far_above_the_others_is_marked(app, rated):
    with app.app_context():
        flt = TallyFilter(JAN_FEB)
        report = build_report(db.session, flt)
        agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
        rows = {r.agency.code: r for r in agency_figures(db.session, flt, agencies, report.book,
                                                         report.cells)}
        own_rates = {code: round(row.own.response_rate, 1) for code, row in rows.items()}
        # XA-B also has dossiers of land, where nobody answered: 12 answers on 145.
        assert own_rates == {"TINH": 10.0, "XA-A": 11.0, "XA-B": 8.3, "XA-C": 150.0,
                             "XA-D": 40.0}
        flags = {code: (row.total.rate_flag, row.own.rate_flag) for code, row in rows.items()}
        assert flags == {
            # The province's row holds every commune: its own counters are compared.
            "TINH": (None, None),
            "XA-A": (None, None),
            "XA-B": (None, None),
            "XA-C": (ABOVE_100, ABOVE_100),  # 9 answers, 6 dossiers
            "XA-D": (FAR_ABOVE_PEERS, FAR_ABOVE_PEERS),  # 40% beside a median of 10.5%
        }
        # Land pools XA-A's, XA-B's and XA-C's dossiers: 25 answers on 181, plausible.
        assert report.sectors["DAT_DAI"].rate_flag is None
        # Alone, XA-C's land is above 100%, whichever way it is asked for.
        alone = build_report(db.session, TallyFilter(JAN_FEB, ids_of(Agency, ["XA-C"])))
        assert alone.scopes["all"].rate_flag == ABOVE_100
        assert alone.sectors["DAT_DAI"].rate_flag == ABOVE_100


def test_no_rate_is_marked_on_volumes_that_miss_responses_or_among_too_few(app, rated):
    with app.app_context():
        q1 = TallyFilter(Q1)
        report = build_report(db.session, q1)
        agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
        rows = {r.agency.code: r for r in agency_figures(db.session, q1, agencies, report.book,
                                                         report.cells)}
        # XA-D's March response has no dossiers: its rate is shown, not judged.
        assert rows["XA-D"].own.response_rate is not None
        assert not rows["XA-D"].own.volumes_complete and rows["XA-D"].own.rate_flag is None
        assert rows["XA-C"].own.rate_flag == ABOVE_100
        # Two agencies listed: each has one other to compare with, too few for a median.
        two = [a for a in agencies if a.code in ("XA-A", "XA-D")]
        jan_feb = TallyFilter(JAN_FEB)
        pair = agency_figures(db.session, jan_feb, two, report.book)
        assert [r.own.rate_flag for r in pair] == [None, None]


def test_a_counter_has_no_dossiers_and_no_receipts(app, rated):
    with app.app_context():
        counter_id = db.session.get(SurveyCode, rated[("XA-C", "DAT_DAI", "counter")]).counter_id
        report = build_report(db.session, TallyFilter(JAN_FEB, counter_id=counter_id))
        everything = report.scopes["all"]
        assert everything.responses == 9
        assert (everything.dossiers, everything.response_rate, everything.weighted,
                everything.rate_flag) == (None, None, None, None)
        assert report.receipts is None


# Receipts --------------------------------------------------------------------------------------


def test_receipts_answered_are_the_minted_ones_a_counted_response_carries(app, rated):
    with app.app_context():
        a = db.session.get(Agency, next(iter(ids_of(Agency, ["XA-A"]))))
        land = next(iter(ids_of(Sector, ["DAT_DAI"])))
        civil = next(iter(ids_of(Sector, ["HO_TICH"])))
        key = ReceiptKey(agency=a, secret="0" * 64)
        db.session.add(key)
        db.session.flush()
        minted = {f"{n:016x}": (land if n < 4 else civil, date(2025, 1 + n % 3, 5))
                  for n in range(6)}
        minted["ffffffffffffffff"] = (land, date(2025, 4, 1))  # after the period
        for digest, (sector_id, issued_on) in minted.items():
            db.session.add(MintedReceipt(key_id=key.id, digest=digest, agency_id=a.id,
                                         sector_id=sector_id, issued_on=issued_on))
        responses = list(db.session.scalars(
            select(Response).where(Response.agency_id == a.id).order_by(Response.id)))
        counted = [r for r in responses if r.status == "counted"]
        flagged = next(r for r in responses if r.status == "flagged")
        links = [(counted[0], 0), (counted[1], 1), (counted[2], 4),
                 (flagged, 2),  # not counted: not answered
                 (counted[3], 9)]  # a digest that was never minted
        for response, n in links:
            db.session.add(DossierDigest(response_id=response.id, key_id=key.id,
                                         digest=f"{n:016x}"))
        db.session.flush()
        report = build_report(db.session, TallyFilter(Q1, ids_of(Agency, ["XA-A"])))
        assert report.receipts is not None
        assert (report.receipts.minted, report.receipts.answered) == (6, 3)
        assert report.receipts.rate == pytest.approx(50.0)
        land_only = build_report(db.session, TallyFilter(Q1, None, None,
                                                         ids_of(Sector, ["DAT_DAI"])))
        assert (land_only.receipts.minted, land_only.receipts.answered) == (4, 2)
        elsewhere = build_report(db.session, TallyFilter(Q1, ids_of(Agency, ["XA-B"])))
        assert (elsewhere.receipts.minted, elsewhere.receipts.answered) == (0, 0)
        assert elsewhere.receipts.rate is None


# What people and scripts read ------------------------------------------------------------------


def test_the_api_gives_the_rates_as_the_report_has_them(app, client, world, rated):
    token = token_for_user(app, world.user_ids["manager_province"])
    status, body = api(client, "/tallies", token, **{"from": "2025-01-01", "to": "2025-02-28"})
    assert status == 200
    with app.app_context():
        report = build_report(db.session, TallyFilter(JAN_FEB, frozenset(
            db.session.scalars(select(Agency.id)))))
    for entries, figures_of in ((body["scopes"], report.scopes),
                                (body["sectors"], report.sectors)):
        for code, entry in entries.items():
            figures = figures_of[code]
            assert entry["by_source"] == figures.by_source
            assert entry["dossiers"] == figures.dossiers
            assert entry["response_rate"] == pytest.approx(figures.response_rate)
            assert entry["rate_flag"] == figures.rate_flag
            expected = None if figures.weighted is None else {
                i.value: pytest.approx(v) for i, v in figures.weighted.items()}
            assert entry["weighted"] == expected
    assert body["scopes"]["all"]["by_source"] == {"counter": 60, "receipt": 7, "kiosk": 0}
    assert body["sectors"]["DAU_TU"]["dossiers"] == 30
    assert body["sources"]["receipt"]["responses"] == 7
    assert body["receipts"] == {"minted": 0, "answered": 0, "rate": None}
    # A counter: the figures of its responses, no dossiers.
    status, body = api(client, "/tallies", token, **{"from": "2025-01-01", "to": "2025-02-28"},
                       counter=world.counter_a_id)
    assert body["scopes"]["all"]["dossiers"] is None and body["receipts"] is None


def test_each_response_in_the_api_and_the_download_names_its_source(app, client, world, rated):
    token = token_for_user(app, world.user_ids["admin"])
    status, page = api(client, "/responses", token, **{"from": "2025-01-01", "to": "2025-01-31"},
                       agency="TINH", limit=1000)
    assert status == 200
    assert {i["source"] for i in page["items"]} == {"counter", "receipt"}
    client = world.login(app.test_client(), "admin")
    with client.get("/exports/responses.csv", query_string={
            "from": "2025-01-01", "to": "2025-01-31", "agency": "TINH"}) as result:
        lines = list(csv.reader(io.StringIO(result.get_data(as_text=True).lstrip("\ufeff")),
                                delimiter=";"))
    header, *rows = lines[5:]
    sources = {(row[header.index("Nguồn")], row[header.index("Nguồn (mã)")]) for row in rows}
    assert sources == {("Mã QR tại quầy", "counter"),
                       ("Liên kết trên giấy tiếp nhận", "receipt")}


def test_the_tallies_download_has_the_rate_columns(app, world, rated):
    client = world.login(app.test_client(), "manager_province")
    with client.get("/exports/tallies.csv", query_string={
            "from": "2025-01-01", "to": "2025-02-28"}) as result:
        lines = list(csv.reader(io.StringIO(result.get_data(as_text=True).lstrip("\ufeff")),
                                delimiter=";"))
    header, *rows = lines[5:]
    assert header[-10:] == [
        "Phiếu được tính qua mã QR tại quầy", "Phiếu được tính qua giấy tiếp nhận",
        "Phiếu được tính qua máy tính bảng tại quầy",
        "Số hồ sơ tiếp nhận", "Số hồ sơ đủ cho mọi phiếu được tính", "Tỷ lệ phản hồi (%)",
        "Tỷ lệ phản hồi: xem lại",
        "Hài lòng về giải quyết TTHC, trọng số theo số hồ sơ (%)",
        "Chỉ số hài lòng (tính theo phương pháp SIPAS), trọng số theo số hồ sơ (%)", "Mã",
    ]
    by_key = {(row[0], row[-1]): dict(zip(header, row, strict=True)) for row in rows}
    land = by_key[("Lĩnh vực", "DAT_DAI")]
    assert (land["Phiếu được tính qua mã QR tại quầy"],
            land["Phiếu được tính qua giấy tiếp nhận"],
            land["Số hồ sơ tiếp nhận"], land["Tỷ lệ phản hồi (%)"]) == ("22", "3", "181", "13,8")
    assert land["Số hồ sơ đủ cho mọi phiếu được tính"] == "Có"
    assert by_key[("Đơn vị", "XA-C")]["Tỷ lệ phản hồi: xem lại"] == (
        "Cần xem lại: nhiều phiếu hơn số hồ sơ tiếp nhận")
    assert by_key[("Đơn vị", "XA-D")]["Tỷ lệ phản hồi: xem lại"] == (
        "Cần xem lại: cao hơn 3 lần trung vị của các đơn vị khác")
    assert by_key[("Đơn vị", "XA-A")]["Tỷ lệ phản hồi: xem lại"] == ""
    everything = by_key[("Phạm vi chỉ tiêu", "all")]
    assert everything["Hài lòng về giải quyết TTHC, trọng số theo số hồ sơ (%)"] != ""


def test_the_dashboard_marks_an_implausible_rate_in_words(app, world, rated):
    client = world.login(app.test_client(), "manager_province")
    html = client.get("/dashboard/?from=01/01/2025&to=28/02/2025").get_data(as_text=True)
    agencies = html.split('id="by-agency"', 1)[1].split("</section>", 1)[0]
    rows = {row.split("</th>", 1)[0]: row for row in agencies.split("<tr")[2:]}
    xa_c = next(row for name, row in rows.items() if "Xã C" in name)
    assert "150,0%" in xa_c and "Cần xem lại" in xa_c
    assert "nhiều phiếu hơn số hồ sơ tiếp nhận" in xa_c
    xa_d = next(row for name, row in rows.items() if "Xã D" in name)
    assert "40,0%" in xa_d and "cao hơn 3 lần trung vị của các đơn vị khác" in xa_d
    xa_a = next(row for name, row in rows.items() if "Xã A" in name)
    assert "Cần xem lại" not in xa_a and "11,0%" in xa_a
    card = html.split('class="card card-all"', 1)[1].split("</article>", 1)[0]
    assert "Tỷ lệ phản hồi" in card and "67 phiếu trên 516 hồ sơ" in card
    assert "Xác thực qua giấy tiếp nhận: 10,4% số phiếu được tính" in card
    assert "Trọng số theo số hồ sơ" in card
    sources = html.split('id="sources"', 1)[1].split("</section>", 1)[0]
    assert "Liên kết trên giấy tiếp nhận" in sources


def test_without_volumes_the_tables_have_no_rate_columns(app, world):
    world.add_response_a(app)
    client = world.login(app.test_client(), "admin")
    html = client.get("/dashboard/?period=this_year").get_data(as_text=True)
    assert "Hồ sơ tiếp nhận" not in html.split('id="by-sector"', 1)[1]
    assert "Tỷ lệ phản hồi: chưa có số hồ sơ tiếp nhận" in html


def test_without_receipt_codes_every_counted_response_is_a_counters(app, world):
    world.add_response_a(app)
    with app.app_context():
        flt = TallyFilter(Period(date(2000, 1, 1), datetime.now(VN).date()))
        report = build_report(db.session, flt)
        assert report.scopes["all"].by_source == {"counter": 1, "receipt": 0, "kiosk": 0}
        assert report.sources["counter"].responses == 1
        assert report.sources["receipt"].responses == 0
        agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
        rows = {r.agency.code: r for r in agency_figures(db.session, flt, agencies,
                                                         report.book)}
        assert rows["TINH"].total.by_source == {"counter": 1, "receipt": 0, "kiosk": 0}
        assert rows["TINH"].own.by_source == {"counter": 0, "receipt": 0, "kiosk": 0}
        assert rows["XA-A"].own.by_source == {"counter": 1, "receipt": 0, "kiosk": 0}
