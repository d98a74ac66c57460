"""Seeded generator of realistic visits (5-40 officials each, about 6.5 KB of JSON per visit).

    python benchmarks/generate.py 100000 > visits.jsonl

Rates follow the 2018 Vĩnh Phúc campaign: most staff present and compliant, a few percent
absent or late, occasional missing cards, altars and one-stop shortcomings.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

LEVELS = ["department", "department_unit", "district", "district_unit", "commune"]
LEVEL_WEIGHTS = [6, 7, 20, 20, 47]
CATEGORIES = ["cadre", "civil_servant", "public_employee", "worker"]
CATEGORY_WEIGHTS = [15, 55, 25, 5]
POSITIONS = [
    "Chủ tịch UBND",
    "Phó Chủ tịch UBND",
    "Công chức Văn phòng - Thống kê",
    "Công chức Địa chính - Xây dựng",
    "Công chức Tư pháp - Hộ tịch",
    "Công chức Tài chính - Kế toán",
    "Công chức Văn hóa - Xã hội",
    "Trưởng phòng",
    "Phó trưởng phòng",
    "Chuyên viên",
    "Kế toán viên",
    "Văn thư",
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Hải", "Thị Lan", "Văn Nam"]
TZ = timezone(timedelta(hours=7))


def _official(rng: random.Random, unit: str, index: int) -> dict[str, Any]:
    roll = rng.random()
    attendance = "present" if roll < 0.90 else ("late" if roll < 0.95 else "absent")
    absent = attendance == "absent"
    official: dict[str, Any] = {
        "id": f"{unit}-{index:03d}",
        "name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
        "category": rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0],
        "position": rng.choice(POSITIONS),
        "attendance": attendance,
        "arrived_at": f"{rng.randint(7, 9):02d}:{rng.randint(0, 59):02d}" if attendance == "late" else None,
        "absence_reason": rng.choice([None, None, "leave", "business_trip", "sick"]) if absent else None,
        "wearing_id_card": None if absent else rng.random() > 0.05,
        "attire_proper": None if absent else rng.random() > 0.01,
        "nameplate_on_desk": rng.random() > 0.04,
        "drinking_alcohol": None if absent else rng.random() < 0.001,
        "smoking": None if absent else rng.random() < 0.005,
        "signed_pledge": rng.random() > 0.03,
    }
    return official


MERGER = datetime(2025, 7, 1, tzinfo=TZ)
"""Vĩnh Phúc became part of Phú Thọ, and the district level was abolished, on this day."""
AFTER_REFORM = {"district": "commune", "district_unit": "department_unit"}


def visit(rng: random.Random, number: int, start_year: int = 2016, years: int = 10) -> dict[str, Any]:
    level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
    unit_no = rng.randint(1, 2000)
    day = datetime(start_year, 1, 1, tzinfo=TZ) + timedelta(days=rng.randint(0, 365 * years - 1))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    province, prefix = "Vĩnh Phúc", "vp"
    if day >= MERGER:  # the same draws as before the reform, so that earlier visits stay as they were
        province, prefix, level = "Phú Thọ", "pt", AFTER_REFORM.get(level, level)
    unit = f"{prefix}.{level}.{unit_no:04d}"
    moment = day.replace(hour=rng.choice([7, 8, 9, 10, 14, 15]), minute=rng.randint(0, 59))
    staff = rng.randint(5, 40)
    rooms = max(1, staff // 3)
    has_desk = level in ("district", "commune")
    return {
        "visit_id": f"VP-{moment.year}-{number:07d}",
        "inspected_at": moment.isoformat(),
        "plan_ref": "10306/KH-UBND",
        "inspectors": ["Đoàn KTCV tỉnh", "Sở Nội vụ"],
        "unit": {
            "id": unit,
            "name": f"Đơn vị {unit_no}",
            "level": level,
            "parent_id": prefix,
            "province": province,
            "headcount": staff + rng.randint(0, 5),
        },
        "personnel": [_official(rng, unit, i) for i in range(staff)],
        "workplace": {
            "rooms_inspected": rooms,
            "rooms_untidy": rng.choices([0, 1, 2], [85, 12, 3])[0] if rooms >= 2 else 0,
            "rooms_with_altar": 1 if rng.random() < 0.04 else 0,
            "rooms_with_incense": 1 if rng.random() < 0.02 else 0,
            "no_smoking_signs_posted": rng.random() > 0.05,
            "pledges_organized": rng.random() > 0.05,
        },
        "one_stop": _desk(rng) if has_desk else None,
        "notes": "Kiểm tra đột xuất theo kế hoạch; biên bản lập tại chỗ.",
    }


def _desk(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.05:
        return {"exists": False}
    return {
            "exists": True,
            "open_at_visit": True,
            "receiving_schedule": rng.choices(["full_day", "afternoons_only", "mornings_only"], [90, 7, 3])[0],
            "uses_shared_software": rng.random() > 0.08,
            "procedures_in_scope": 120,
            "procedures_posted": rng.choice([120, 120, 120, 110, 85]),
            "posting_up_to_date": rng.random() > 0.1,
    }


def visits(count: int, seed: int = 2018) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for number in range(count):
        yield visit(rng, number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=2018)
    args = parser.parse_args()
    out = sys.stdout.buffer
    for v in visits(args.count, args.seed):
        out.write(orjson.dumps(v) + b"\n")


if __name__ == "__main__":
    main()
