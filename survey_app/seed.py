"""Reference data every deployment starts with: the sectors (lĩnh vực)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Sector, TargetYear

# (code, Vietnamese label, English label, target group)
SECTORS: tuple[tuple[str, str, str, str | None], ...] = (
    ("DAT_DAI", "Đất đai", "Land", "LAND"),
    ("XAY_DUNG", "Xây dựng", "Construction", "CONSTRUCTION"),
    (
        "QH_KT",
        "Quy hoạch xây dựng, kiến trúc",
        "Construction planning, architecture",
        "CONSTRUCTION",
    ),
    ("DAU_TU", "Đầu tư tại Việt Nam", "Investment in Vietnam", "INVESTMENT"),
    ("NHA_O", "Nhà ở", "Housing", None),
    ("DN", "Thành lập và hoạt động doanh nghiệp", "Business registration and operation", None),
    ("HKD", "Hộ kinh doanh", "Household businesses", None),
    ("HO_TICH", "Hộ tịch", "Civil status", None),
    ("CHUNG_THUC", "Chứng thực", "Certification", None),
    ("TU_PHAP", "Tư pháp", "Justice", None),
    ("MOI_TRUONG", "Môi trường", "Environment", None),
    ("NONG_NGHIEP", "Nông nghiệp", "Agriculture", None),
    ("GIAO_THONG", "Giao thông", "Transport", None),
    ("CONG_THUONG", "Công thương", "Industry and trade", None),
    ("Y_TE", "Y tế", "Health", None),
    ("GIAO_DUC", "Giáo dục và đào tạo", "Education and training", None),
    ("LAO_DONG", "Lao động, việc làm", "Labour and employment", None),
    ("BTXH", "Bảo trợ xã hội, người có công", "Social protection, people with merit", None),
    ("NOI_VU", "Nội vụ", "Home affairs", None),
    ("VHTTDL", "Văn hóa, thể thao, du lịch", "Culture, sports and tourism", None),
    ("KHCN", "Khoa học và công nghệ", "Science and technology", None),
    ("TAI_CHINH", "Tài chính", "Finance", None),
    (
        "KHIEU_NAI",
        "Tiếp công dân, khiếu nại, tố cáo",
        "Citizen reception, complaints, denunciations",
        None,
    ),
    ("KHAC", "Khác", "Other", None),
)


def seed_sectors(session: Session) -> int:
    """Add the missing sectors, keeping labels a deployment has edited; return how many."""
    existing = set(session.scalars(select(Sector.code)))
    added = 0
    for position, (code, label_vi, label_en, group) in enumerate(SECTORS, start=1):
        if code in existing:
            continue
        session.add(
            Sector(
                code=code,
                label_vi=label_vi,
                label_en=label_en,
                target_group=group,
                position=position,
            )
        )
        added += 1
    session.flush()
    return added


# year: (all sectors, land, construction, investment, the three pooled), minimum sample
TARGETS = {
    2025: (90.0, 85.0, 85.0, 85.0, 85.0, 30),
    2030: (95.0, 90.0, 90.0, 90.0, 90.0, 30),
}


def seed_targets(session: Session) -> int:
    """Add the default targets of the years that have none; return how many were added."""
    existing = set(session.scalars(select(TargetYear.year)))
    added = 0
    for year, (overall, land, construction, investment, pooled, min_sample) in TARGETS.items():
        if year in existing:
            continue
        session.add(
            TargetYear(
                year=year,
                sipas_all=overall,
                sipas_land=land,
                sipas_construction=construction,
                sipas_investment=investment,
                sipas_land_construction_investment=pooled,
                min_sample=min_sample,
            )
        )
        added += 1
    session.flush()
    return added
