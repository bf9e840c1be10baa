"""Reference data every deployment starts with: sectors (lĩnh vực), target scopes, targets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Sector, Target, TargetScope, TargetYear
from survey_app.sipas import Indicator

# (code, Vietnamese label, English label)
SECTORS: tuple[tuple[str, str, str], ...] = (
    ("DAT_DAI", "Đất đai", "Land"),
    ("XAY_DUNG", "Xây dựng", "Construction"),
    (
        "QH_KT",
        "Quy hoạch xây dựng, kiến trúc",
        "Construction planning, architecture",
    ),
    ("DAU_TU", "Đầu tư tại Việt Nam", "Investment in Vietnam"),
    ("NHA_O", "Nhà ở", "Housing"),
    ("DN", "Thành lập và hoạt động doanh nghiệp", "Business registration and operation"),
    ("HKD", "Hộ kinh doanh", "Household businesses"),
    ("HO_TICH", "Hộ tịch", "Civil status"),
    ("CHUNG_THUC", "Chứng thực", "Certification"),
    ("TU_PHAP", "Tư pháp", "Justice"),
    ("MOI_TRUONG", "Môi trường", "Environment"),
    ("NONG_NGHIEP", "Nông nghiệp", "Agriculture"),
    ("GIAO_THONG", "Giao thông", "Transport"),
    ("CONG_THUONG", "Công thương", "Industry and trade"),
    ("Y_TE", "Y tế", "Health"),
    ("GIAO_DUC", "Giáo dục và đào tạo", "Education and training"),
    ("LAO_DONG", "Lao động, việc làm", "Labour and employment"),
    ("BTXH", "Bảo trợ xã hội, người có công", "Social protection, people with merit"),
    ("NOI_VU", "Nội vụ", "Home affairs"),
    ("VHTTDL", "Văn hóa, thể thao, du lịch", "Culture, sports and tourism"),
    ("KHCN", "Khoa học và công nghệ", "Science and technology"),
    ("TAI_CHINH", "Tài chính", "Finance"),
    (
        "KHIEU_NAI",
        "Tiếp công dân, khiếu nại, tố cáo",
        "Citizen reception, complaints, denunciations",
    ),
    ("KHAC", "Khác", "Other"),
)


def seed_sectors(session: Session) -> int:
    """Add the missing sectors, keeping labels a deployment has edited; return how many."""
    existing = set(session.scalars(select(Sector.code)))
    added = 0
    for position, (code, label_vi, label_en) in enumerate(SECTORS, start=1):
        if code in existing:
            continue
        session.add(
            Sector(
                code=code,
                label_vi=label_vi,
                label_en=label_en,
                position=position,
            )
        )
        added += 1
    session.flush()
    return added


ALL_SECTORS = "all"
POOLED = "LAND_CONSTRUCTION_INVESTMENT"
# (code, Vietnamese label, English label, member sectors; None = every sector)
SCOPES: tuple[tuple[str, str, str, tuple[str, ...] | None], ...] = (
    (ALL_SECTORS, "Tất cả lĩnh vực", "All sectors", None),
    ("LAND", "Đất đai", "Land", ("DAT_DAI",)),
    ("CONSTRUCTION", "Xây dựng", "Construction", ("XAY_DUNG", "QH_KT")),
    ("INVESTMENT", "Đầu tư", "Investment", ("DAU_TU",)),
    (POOLED, "Đất đai, xây dựng, đầu tư (gộp)", "Land, construction, investment (pooled)",
     ("DAT_DAI", "XAY_DUNG", "QH_KT", "DAU_TU")),
)

# Nghị quyết 76/NQ-CP: satisfaction with how procedures are settled (O) ≥ 90% by 2025 and
# ≥ 85% for land, construction and investment (≥ 95% and ≥ 90% by 2030); the SIPAS index
# (S) ≥ 85% by 2025 and ≥ 90% by 2030.
# year: ({indicator: (all sectors, each of the three and the three pooled)}, minimum sample)
TARGETS: dict[int, tuple[dict[Indicator, tuple[float, float]], int]] = {
    2025: ({Indicator.OVERALL: (90.0, 85.0), Indicator.SIPAS_INDEX: (85.0, 85.0)}, 30),
    2030: ({Indicator.OVERALL: (95.0, 90.0), Indicator.SIPAS_INDEX: (90.0, 90.0)}, 30),
}


def seed_scopes(session: Session) -> int:
    """Add the missing target scopes of the resolution; return how many were added."""
    existing = set(session.scalars(select(TargetScope.code)))
    sectors = {s.code: s for s in session.scalars(select(Sector))}
    added = 0
    for position, (code, label_vi, label_en, members) in enumerate(SCOPES, start=1):
        if code in existing:
            continue
        session.add(
            TargetScope(
                code=code, label_vi=label_vi, label_en=label_en, position=position,
                covers_all_sectors=members is None,
                sectors=[sectors[m] for m in members or () if m in sectors],
            )
        )
        added += 1
    session.flush()
    return added


def seed_targets(session: Session) -> int:
    """Add the scopes and the default targets of the years that have none; return the years."""
    seed_scopes(session)
    scopes = {s.code: s for s in session.scalars(select(TargetScope))}
    existing = set(session.scalars(select(TargetYear.year)))
    added = 0
    for year, (by_indicator, min_sample) in TARGETS.items():
        if year in existing:
            continue
        target_year = TargetYear(year=year, min_sample=min_sample)
        for indicator, (everything, each) in by_indicator.items():
            for code, *_rest in SCOPES:
                if code in scopes:
                    threshold = everything if code == ALL_SECTORS else each
                    target_year.targets.append(
                        Target(indicator=indicator.value, scope=scopes[code], threshold=threshold)
                    )
        session.add(target_year)
        added += 1
    session.flush()
    return added
