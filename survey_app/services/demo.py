"""A demo province with counters, codes and a year of plausible responses.

Everything here is invented for trying the app out; running it again adds nothing twice.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_app.masking import mask_personal_data
from survey_app.models import (
    Agency,
    Counter,
    DossierDigest,
    MintedReceipt,
    Response,
    ResponseWish,
    Sector,
    SurveyCode,
)
from survey_app.questionnaire import CURRENT, INTEGRITY_KEY, RATING_KEYS, WISH_CODES
from survey_app.services import receipts, rollups
from survey_app.services.accounts import create_user, find_user
from survey_app.services.codes import active_code_for, create_survey_code
from survey_app.services.periods import month_start, next_month
from survey_app.services.recording import DUPLICATE_DOSSIER, dossier_hash
from survey_app.services.seed import seed_sectors, seed_targets
from survey_app.services.volumes import Volume, save

PROVINCE = ("DEMO-TTHCC", "Trung tâm Phục vụ hành chính công tỉnh (demo)")
# The province's complaint hotline, which its communes share (an illustrative number).
PROVINCE_HOTLINE = ("0233 3000 000", "số minh họa, trong giờ hành chính")
COMMUNES = (
    ("DEMO-P-DONGHA", "Phường Đông Hà (demo)"),
    ("DEMO-X-CUAVIET", "Xã Cửa Việt (demo)"),
    ("DEMO-X-KHESANH", "Xã Khe Sanh (demo)"),
)
# agency code -> counter name -> sector codes served there
COUNTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "DEMO-TTHCC": {
        "Quầy 1": ("DAT_DAI",),
        "Quầy 2": ("XAY_DUNG", "QH_KT"),
        "Quầy 3": ("DAU_TU", "DN"),
    },
    "DEMO-P-DONGHA": {"Quầy 1": ("HO_TICH", "CHUNG_THUC"), "Quầy 2": ("DAT_DAI", "XAY_DUNG")},
    "DEMO-X-CUAVIET": {"Quầy 1": ("HO_TICH", "BTXH", "DAT_DAI")},
    "DEMO-X-KHESANH": {"Quầy 1": ("HO_TICH", "DAT_DAI", "NONG_NGHIEP")},
}
# Chance that a citizen is satisfied, by sector: land lags, as it does in real surveys.
SATISFACTION = {"DAT_DAI": 0.80, "XAY_DUNG": 0.87, "QH_KT": 0.86, "DAU_TU": 0.91}
DEFAULT_SATISFACTION = 0.93
RESPONSES_PER_CODE = 160
# Dossiers received a month per sector served, from the one-stop system's report: about one
# citizen in ten answers. Khe Sanh's counts are far too low for its answers, as they would
# be where staff fill in forms for citizens: its rate is far above the other agencies', and
# its farming counter even has more answers than dossiers; both are marked «Cần xem lại».
DOSSIERS_PER_MONTH = (90, 150)
DOSSIERS_PER_MONTH_AT: dict[tuple[str, str | None], tuple[int, int]] = {
    ("DEMO-X-KHESANH", None): (20, 30),
    ("DEMO-X-KHESANH", "NONG_NGHIEP"): (6, 14),
}

# Receipt links minted through the one-stop system (as POST /api/v1/receipts would), by
# agency and sector, over the demo's year; a little under half are answered from home, a
# little less satisfied than at the counter, as independent surveys find.
RECEIPTS_MINTED: dict[tuple[str, str], int] = {
    ("DEMO-TTHCC", "DAT_DAI"): 140,
    ("DEMO-TTHCC", "XAY_DUNG"): 90,
    ("DEMO-P-DONGHA", "HO_TICH"): 110,
}
RECEIPTS_ANSWERED = 0.45
RECEIPT_SATISFACTION_GAP = 0.06

# Accounts to try each role; the password is public, so the demo refuses to run in production.
DEMO_PASSWORD = "matkhau-demo"
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("quantri@demo.example", "Quản trị viên (demo)", "admin", None),
    ("lanhdao.tinh@demo.example", "Lãnh đạo cấp tỉnh (demo)", "manager", "DEMO-TTHCC"),
    ("lanhdao.xa@demo.example", "Lãnh đạo Xã Cửa Việt (demo)", "manager", "DEMO-X-CUAVIET"),
    ("canbo@demo.example", "Cán bộ Phường Đông Hà (demo)", "staff", "DEMO-P-DONGHA"),
)

COMMENTS = (
    "Cán bộ hướng dẫn nhiệt tình, dễ hiểu.",
    "Phải chờ khá lâu, mong bố trí thêm quầy vào buổi sáng.",
    "Thiếu ghế ngồi chờ, trời nóng.",
    "Hồ sơ trả đúng hẹn, cảm ơn.",
    "Nên có thêm hướng dẫn nộp hồ sơ trực tuyến.",
    "Thủ tục đất đai còn phải đi lại nhiều lần.",
    # Stored masked, as the form would store it.
    "Máy lấy số thứ tự hay bị lỗi, có gì gọi tôi: 0912 345 678.",
    "Rất hài lòng với thái độ phục vụ.",
    "Bảng niêm yết thủ tục chữ nhỏ, khó đọc.",
    "Kết quả trễ hẹn 3 ngày mà không được báo trước.",
)


def _get_or_create_agency(
    session: Session, code: str, name: str, level: str, parent: Agency | None
) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        agency = Agency(code=code, name=name, level=level, parent=parent)
        session.add(agency)
        session.flush()
    return agency


def _get_or_create_counter(session: Session, agency: Agency, name: str) -> Counter:
    counter = session.scalar(
        select(Counter).where(Counter.agency_id == agency.id, Counter.name == name)
    )
    if counter is None:
        counter = Counter(agency=agency, name=name)
        session.add(counter)
        session.flush()
    return counter


def load_demo(session: Session, now: datetime | None = None, seed: int = 2025) -> list[SurveyCode]:
    """Create the demo province and its responses if missing; return its active codes."""
    seed_sectors(session)
    seed_targets(session)
    sectors = {s.code: s for s in session.scalars(select(Sector))}
    province = _get_or_create_agency(session, *PROVINCE, "province", None)
    if province.hotline is None:
        province.hotline, province.hotline_note = PROVINCE_HOTLINE
    agencies = {province.code: province}
    for code, name in COMMUNES:
        agencies[code] = _get_or_create_agency(session, code, name, "commune", province)

    codes: list[SurveyCode] = []
    for agency_code, counters in COUNTERS.items():
        agency = agencies[agency_code]
        for counter_name, sector_codes in counters.items():
            counter = _get_or_create_counter(session, agency, counter_name)
            for sector_code in sector_codes:
                sector = sectors[sector_code]
                survey_code = active_code_for(session, counter, sector)
                if survey_code is None:
                    survey_code = create_survey_code(session, agency, counter, sector)
                codes.append(survey_code)

    for email, name, role, home in DEMO_USERS:
        if find_user(session, email) is None:
            create_user(session, email, DEMO_PASSWORD, role, agencies.get(home or ""), name=name)

    has_responses = session.scalar(
        select(func.count(Response.id)).where(
            Response.agency_id.in_([a.id for a in agencies.values()])
        )
    )
    if not has_responses:
        now = now or datetime.now(UTC)
        _add_responses(session, codes, now, random.Random(seed))
        _add_receipts(session, agencies, sectors, now, random.Random(seed + 1))
        rollups.rebuild(session)
        _add_volumes(session, codes, now, random.Random(seed))
    return codes


def _add_receipts(session: Session, agencies: dict[str, Agency], sectors: dict[str, Sector],
                  now: datetime, rng: random.Random) -> None:
    """Mint receipt links over the year, and answer some of them through their links."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    today = now.astimezone(zone).date()
    wishes = list(WISH_CODES)
    for (agency_code, sector_code), minted in RECEIPTS_MINTED.items():
        agency, sector = agencies[agency_code], sectors[sector_code]
        key = receipts.active_key(session, agency.id) or receipts.create_key(session, agency)
        code = receipts.receipt_code_for(session, agency.id, sector.id)
        secret = bytes.fromhex(key.secret)
        p = SATISFACTION.get(sector_code, DEFAULT_SATISFACTION) - RECEIPT_SATISFACTION_GAP
        for serial in range(minted):
            issued_on = today - timedelta(days=rng.randint(0, 340))
            dossier = f"000.00.31.H45-{issued_on:%y%m%d}-{serial:04d}"
            digest = receipts.dossier_digest(secret, dossier).hex()
            session.add(MintedReceipt(key_id=key.id, digest=digest, agency_id=agency.id,
                                      sector_id=sector.id, issued_on=issued_on))
            if rng.random() >= RECEIPTS_ANSWERED:
                continue
            answered_at = datetime.combine(
                issued_on + timedelta(days=rng.randint(0, 20)),
                time(rng.randint(7, 21), rng.randint(0, 59)), zone,
            )
            q: dict[str, int | None] = {
                key_: _scale_answer(rng, min(0.99, p + rng.uniform(-0.06, 0.04)))
                for key_ in RATING_KEYS
            }
            response = Response(
                survey_code_id=code.id, agency_id=agency.id, counter_id=code.counter_id,
                sector_id=sector.id, questionnaire_version=CURRENT.version,
                language="vi", status="counted",
                created_at=min(answered_at.astimezone(UTC), now),
                **q,
                **{INTEGRITY_KEY: rng.choices(("no", "yes", "decline", None),
                                              weights=(75, 2, 8, 15))[0]},
            )
            if rng.random() < 0.5:
                response.wishes = [ResponseWish(wish=w) for w in rng.sample(wishes, 1)]
            session.add(response)
            session.flush()
            session.add(DossierDigest(response_id=response.id, key_id=key.id, digest=digest))
    session.flush()


def _add_volumes(
    session: Session, codes: list[SurveyCode], now: datetime, rng: random.Random
) -> None:
    """Load a month's total of dossiers per agency and sector served, over the demo's year."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    served = sorted({(c.agency.code, c.sector.code, c.agency_id, c.sector_id) for c in codes})
    first = month_start((now - timedelta(days=364)).astimezone(zone).date())
    last = month_start(now.astimezone(zone).date())
    volumes = []
    month = first
    while month <= last:
        for agency_code, sector_code, agency_id, sector_id in served:
            low, high = (DOSSIERS_PER_MONTH_AT.get((agency_code, sector_code))
                         or DOSSIERS_PER_MONTH_AT.get((agency_code, None))
                         or DOSSIERS_PER_MONTH)
            volumes.append(Volume(agency_id, sector_id, month, rng.randint(low, high), True))
        month = next_month(month)
    save(session, volumes)


# How often the demo's citizens answer N/A, by question (the others: a quarter of them).
NOT_APPLICABLE = {"q4": 0.25, "q5": 0.55}


def _scale_answer(rng: random.Random, p_satisfied: float) -> int:
    if rng.random() < p_satisfied:
        return rng.choice((4, 4, 5, 5, 5))
    return rng.choice((1, 2, 2, 3, 3, 3))


def _local_time(rng: random.Random, now: datetime, zone: ZoneInfo) -> datetime:
    """Return a moment in office hours on a weekday within the last year."""
    while True:
        day = (now - timedelta(days=rng.randint(0, 364))).astimezone(zone).date()
        if day.weekday() < 5:
            break
    hour = rng.choice((7, 8, 8, 9, 9, 10, 10, 13, 14, 14, 15, 16))
    local = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), tzinfo=zone)
    return min(local.astimezone(UTC), now)


def _add_responses(
    session: Session, codes: list[SurveyCode], now: datetime, rng: random.Random
) -> None:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    wishes = list(WISH_CODES)
    counted_dossiers: set[tuple[int, str]] = set()
    for survey_code in codes:
        p = SATISFACTION.get(survey_code.sector.code, DEFAULT_SATISFACTION)
        for _ in range(RESPONSES_PER_CODE):
            # Each element varies a little around the sector's level.
            q: dict[str, int | None] = {
                key: _scale_answer(rng, min(0.99, p + rng.uniform(-0.06, 0.04)))
                for key in RATING_KEYS
            }
            # Some have not received their result yet, more never gave feedback (N/A).
            for question in CURRENT.questions:
                if question.na_choice is not None and rng.random() < NOT_APPLICABLE.get(
                        question.key, 0.25):
                    q[question.key] = None
            hashed = None
            if rng.random() < 0.3:
                office, serial = rng.randint(10, 60), rng.randint(1, 9999)
                hashed = dossier_hash(f"000.00.{office}.H{office}-{serial:04d}")
            elif rng.random() < 0.02 and counted_dossiers:
                # Now and then someone rates the same dossier twice.
                agency_id, hashed = rng.choice(sorted(counted_dossiers))
                hashed = hashed if agency_id == survey_code.agency_id else None
            repeat = hashed is not None and (survey_code.agency_id, hashed) in counted_dossiers
            if hashed and not repeat:
                counted_dossiers.add((survey_code.agency_id, hashed))
            comment = mask_personal_data(rng.choice(COMMENTS)) if rng.random() < 0.15 else None
            response = Response(
                survey_code_id=survey_code.id,
                agency_id=survey_code.agency_id,
                counter_id=survey_code.counter_id,
                sector_id=survey_code.sector_id,
                questionnaire_version=CURRENT.version,
                comment=comment.text if comment is not None else None,
                comment_masked=comment is not None and comment.is_masked,
                dossier_hash=hashed,
                language="vi" if rng.random() < 0.97 else "en",
                status="duplicate" if repeat else "counted",
                status_reason=DUPLICATE_DOSSIER if repeat else None,
                created_at=_local_time(rng, now, zone),
                **q,
                **{INTEGRITY_KEY: rng.choices(("no", "yes", "decline", None),
                                              weights=(70, 3, 7, 20))[0]},
            )
            if rng.random() < 0.6:
                response.wishes = [
                    ResponseWish(wish=w) for w in rng.sample(wishes, rng.choice((1, 2)))
                ]
            session.add(response)
    session.flush()
