"""Public holidays come from the holidays package; the calendar's own lists add what it cannot know.

The expectations are computed here straight from the library and from rules/calendar.yaml as
plain YAML, not through compliance.calendar, so a mistake in how the engine combines them shows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from compliance import Engine
from compliance import public_holidays as library
from compliance.calendar import working_time
from compliance.plugins import installed_checks
from compliance.ruleset.loader import load_ruleset
from compliance.ruleset.model import CalendarVersion

from _authoring_support import copy_rules

RULES = Path(__file__).resolve().parents[1] / "rules"
SHIPPED = yaml.safe_load((RULES / "calendar.yaml").read_text(encoding="utf-8"))
YEARS = range(2010, 2031)
NINE_AM = (9, 0)  # inside the morning session in summer (07:00-11:30) and winter (07:30-12:00)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _listed(key: str, day: date) -> bool:
    """`day` is in the list `key` of the shipped calendar version in force on it."""
    for version in SHIPPED["versions"]:
        if version["effective_from"] <= day and (version.get("effective_to") is None or day <= version["effective_to"]):
            return day in version.get(key, [])
    return False


def _expected(year: int) -> tuple[set[date], set[date]]:
    """The weekdays off and the weekend days worked in `year`: the library's, with the YAML's."""
    table = holidays.country_holidays("VN", years=(year - 1, year, year + 1))
    days = [date(year, 1, 1) + timedelta(n) for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    off, worked = set(), set()
    for day in days:
        if _listed("working_weekend_days", day) or (day in table.weekend_workdays and not _listed("not_holidays", day)):
            worked.add(day)
        elif _listed("holidays", day) or (day in table and not _listed("not_holidays", day)):
            if day.weekday() < 5:
                off.add(day)
    return off, worked


def _is_working(off: set[date], worked: set[date], day: date) -> bool:
    return day in worked or (day.weekday() < 5 and day not in off)


def _neighbours(year: int) -> set[date]:
    """The working day just before and just after each day off of `year`, within the year."""
    off, worked = set(), set()
    for y in (year - 1, year, year + 1):
        off_y, worked_y = _expected(y)
        off |= off_y
        worked |= worked_y
    out = set()
    for day in (d for d in off if d.year == year):
        for step in (-1, 1):
            other = day + timedelta(step)
            while not _is_working(off, worked, other):
                other += timedelta(step)
            if other.year == year:
                out.add(other)
    return out


def _absent_on(day: date) -> dict[str, Any]:
    return {
        "visit_id": f"HOL-{day.isoformat()}",
        "inspected_at": f"{day.isoformat()}T{NINE_AM[0]:02d}:{NINE_AM[1]:02d}:00+07:00",
        "unit": {"id": "ubnd-xa-thu-nghiem", "level": "commune"},
        "personnel": [{"id": "cc1", "attendance": "absent"}],
    }


def _absence_found(engine: Engine, day: date) -> bool:
    result = engine.evaluate(_absent_on(day))
    return any(f.rule == "absent_unexcused" for f in result.findings)


@pytest.mark.parametrize("year", YEARS)
def test_every_holiday_of_the_year_silences_an_absence_and_the_working_days_around_it_do_not(
    engine: Engine, year: int
) -> None:
    off, worked = _expected(year)
    assert len(off) >= 9, off  # Tết, Giỗ Tổ, 30/4, 1/5, Quốc khánh, New Year: some fall on a weekend
    fired_on_holiday = sorted(d for d in off if _absence_found(engine, d))
    assert not fired_on_holiday, f"an absence on a day off was a finding: {fired_on_holiday}"
    silent_on_working_day = sorted(d for d in _neighbours(year) | worked if not _absence_found(engine, d))
    assert not silent_on_working_day, f"an absence on a working day was not a finding: {silent_on_working_day}"


def test_tet_2027_is_a_holiday_as_the_library_says(engine: Engine) -> None:
    """The issue's case: Mon 08/02/2027 (mùng 3 Tết Đinh Mùi) yielded absent_unexcused."""
    assert not _absence_found(engine, date(2027, 2, 8))
    days = {date(2027, 2, 1) + timedelta(n) for n in range(14)}
    working = {d for d in days if engine.working_time(datetime(d.year, d.month, d.day, *NINE_AM)).working_day}
    # 29 Tết (Thu 04/02) for mùng 1 on a Saturday, mùng 5 (Wed 10/02) for mùng 2 on a Sunday.
    off = {date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)}
    assert working == {d for d in days if d.weekday() < 5} - off


def test_the_2018_calendar_is_the_one_the_campaign_was_judged_by(engine: Engine) -> None:
    off = {
        date(2018, 1, 1), date(2018, 2, 14), date(2018, 2, 15), date(2018, 2, 16), date(2018, 2, 19),
        date(2018, 2, 20), date(2018, 4, 25), date(2018, 4, 30), date(2018, 5, 1), date(2018, 9, 3),
        date(2018, 12, 31),
    }  # fmt: skip
    for n in range(365):
        day = date(2018, 1, 1) + timedelta(n)
        expected = day.weekday() < 5 and day not in off
        assert engine.working_time(datetime(2018, day.month, day.day, *NINE_AM)).working_day is expected, day
    assert engine.working_time(datetime(2019, 1, 5, *NINE_AM)).working_day  # made up for 31/12/2018


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2011, 2, 8), True),  # the old list had it off: Tết Tân Mão ended on 07/02
        (date(2011, 1, 31), False),  # swapped for Sat 29/01, which the library does not know
        (date(2011, 1, 29), True),
        (date(2013, 4, 29), False),  # swapped for Sat 04/05/2013: missing from the old list
        (date(2013, 5, 4), True),
        (date(2013, 2, 23), True),  # made up for Fri 15/02/2013, missing from both
        (date(2014, 2, 5), False),  # Tết Giáp Ngọ ran to 05/02; the library stops at 04/02
        (date(2014, 2, 8), True),
        (date(2015, 2, 23), False),  # mùng 5 Tết Ất Mùi, missing from the old list
        (date(2019, 5, 4), True),  # made up for 29/04/2019, missing from the old list
        (date(2026, 1, 2), False),  # Công văn 12729/VPCP-KGVX, which the library does not know
        (date(2026, 1, 10), True),
        (date(2026, 9, 1), False),  # Quốc khánh 2026: the year the old list ended in did not have it
    ],
    ids=lambda value: value.isoformat() if isinstance(value, date) else ("working" if value else "off"),
)
def test_the_old_lists_mistakes_and_the_librarys_gaps(engine: Engine, day: date, working: bool) -> None:
    assert engine.working_time(datetime(day.year, day.month, day.day, *NINE_AM)).working_day is working
    assert _absence_found(engine, day) is working


# ---- the calendar's fields


def _version(**fields: Any) -> CalendarVersion:
    base: dict[str, Any] = {
        "effective_from": date(2010, 1, 1),
        "legal_basis": [{"document": "QĐ test"}],
        "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "seasons": [{"name": "all", "from": "01-01", "to": "12-31", "sessions": [{"start": "07:00", "end": "17:00"}]}],
    }
    return CalendarVersion.model_validate({**base, **fields})


def _works(version: CalendarVersion, day: date) -> bool:
    return working_time(version, datetime(day.year, day.month, day.day, *NINE_AM)).working_day


VIETNAM = {"source": "holidays", "country": "VN"}


def test_a_calendar_of_fixed_and_dated_holidays_still_works_without_the_library() -> None:
    """Rulesets written before public_holidays keep their meaning: only their own days are off."""
    version = _version(annual_holidays=["04-30"], holidays=[date(2018, 2, 14)], working_weekend_days=[date(2019, 1, 5)])
    assert not _works(version, date(2018, 4, 30)) and not _works(version, date(2018, 2, 14))
    assert _works(version, date(2018, 2, 15))  # Tết, but this calendar does not list it
    assert _works(version, date(2019, 1, 5)) and not _works(version, date(2019, 1, 12))
    assert _works(version, date(2150, 3, 2))  # no library, so no year it cannot answer for


def test_the_library_gives_the_holidays_and_the_yaml_adds_and_corrects() -> None:
    plain = _version(public_holidays=VIETNAM)
    assert not _works(plain, date(2026, 11, 24))  # Ngày Văn hóa Việt Nam, from the library
    assert not _works(plain, date(2024, 4, 29)) and _works(plain, date(2024, 5, 4))  # its recorded swap
    corrected = _version(
        public_holidays=VIETNAM,
        not_holidays=[date(2026, 11, 24), date(2024, 5, 4)],
        holidays=[date(2025, 11, 4)],  # a province's own day off
        working_weekend_days=[date(2025, 11, 8)],
    )
    assert _works(corrected, date(2026, 11, 24))
    assert not _works(corrected, date(2024, 5, 4))  # a make-up Saturday that was not one: a Saturday again
    assert not _works(corrected, date(2024, 4, 29))  # the other half of the swap stands
    assert not _works(corrected, date(2025, 11, 4)) and _works(corrected, date(2025, 11, 8))


def test_a_year_the_library_does_not_cover_has_no_working_day() -> None:
    """Its lunar table ends in 2100: after that nobody can be said to be absent on a day that
    may be Tết, rather than everyone being absent on it."""
    version = _version(public_holidays=VIETNAM)
    assert library.year_holidays("VN", 2101) is None and library.year_holidays("VN", 2100) is not None
    assert not _works(version, date(2101, 3, 7))  # a Monday
    assert _works(version, date(2100, 3, 8))  # a Monday the library knows is no holiday
    assert _works(_version(public_holidays=VIETNAM, working_weekend_days=[date(2101, 3, 5)]), date(2101, 3, 5))  # a Saturday


def test_not_holidays_needs_the_library_it_corrects() -> None:
    with pytest.raises(ValidationError, match="not_holidays corrects public_holidays"):
        _version(not_holidays=[date(2026, 11, 24)])


@given(st.dates(min_value=date(2010, 1, 1), max_value=date(2999, 12, 31)))
@settings(max_examples=400, deadline=None)
def test_any_day_is_a_working_day_exactly_when_the_library_says_so(day: date) -> None:
    """With no list of its own, the calendar agrees with the library's own is_working_day (its
    weekend is Vietnam's: Saturday and Sunday) on every day it covers, and has none after."""
    version = _version(public_holidays=VIETNAM)
    if day.year > 2100:
        assert not _works(version, day)
    else:
        assert _works(version, day) is holidays.country_holidays("VN", years=day.year).is_working_day(day)


# ---- cost and identity


def test_the_library_is_asked_once_per_year_not_once_per_visit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = holidays.country_holidays

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(library._library, "country_holidays", counting)
    library.year_holidays.cache_clear()
    try:
        version = _version(public_holidays=VIETNAM)
        for n in range(120):
            _works(version, date(2031, 1, 1) + timedelta(n))
        assert len(calls) == 1, calls
        assert library.year_holidays.cache_info().maxsize == 4096  # the bound SECURITY.md states
    finally:
        library.year_holidays.cache_clear()


def test_the_ruleset_digest_names_the_library_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Another version of the library may know another swap: results made with it are not the
    same ruleset's, and a resumed batch must notice."""
    checks = [c.check for c in installed_checks()]
    province = RULES / "provinces" / "vinh-phuc"
    with_library = load_ruleset(province, checks).digest
    monkeypatch.setattr(library, "library_version", lambda: "0.0")
    assert load_ruleset(province, checks).digest != with_library

    rules = copy_rules(tmp_path, cases=False)
    text = (rules / "calendar.yaml").read_text(encoding="utf-8")
    text = text.replace("public_holidays: &vietnam {source: holidays, country: VN}", "annual_holidays: &fixed ['01-01']")
    text = text.replace("public_holidays: *vietnam", "annual_holidays: *fixed")
    (rules / "calendar.yaml").write_text(text, encoding="utf-8")
    without_library = load_ruleset(rules / "provinces" / "vinh-phuc", checks).digest
    monkeypatch.setattr(library, "library_version", lambda: "9.9")
    assert load_ruleset(rules / "provinces" / "vinh-phuc", checks).digest == without_library
