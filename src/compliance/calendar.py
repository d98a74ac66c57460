"""Where a moment falls in the working calendar: working day or not, season, session."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from .check import WorkingTime
from .public_holidays import year_holidays
from .ruleset.model import CalendarVersion

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

OUTSIDE = WorkingTime(working_day=False, season=None, sessions=(), session_index=None)


def parse_offset(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    hours, minutes = text[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


DayCache = dict[tuple[int, date], tuple[bool, str, tuple[tuple[time, time], ...]]]


def working_time(version: CalendarVersion | None, moment: datetime, cache: DayCache | None = None) -> WorkingTime:
    """The working-time facts of `moment` (already in the jurisdiction's local time).

    With no calendar in force the moment is treated as outside working hours: without a
    schedule nobody can be said to be absent or late.
    """
    if version is None:
        return OUTSIDE
    day = moment.date()
    if cache is None:
        working_day, season, sessions = _day(version, day)
    else:
        key = (id(version), day)
        facts = cache.get(key)
        if facts is None:
            facts = cache[key] = _day(version, day)
        working_day, season, sessions = facts
    index = None
    if working_day:
        now = moment.time().replace(tzinfo=None)
        index = next((i for i, (start, end) in enumerate(sessions) if start <= now < end), None)
    return WorkingTime(working_day=working_day, season=season, sessions=sessions, session_index=index)


def _day(version: CalendarVersion, day: date) -> tuple[bool, str, tuple[tuple[time, time], ...]]:
    if version.seasons is None:  # no working hours given for these dates: nobody can be late or absent
        return False, "", ()
    month_day = f"{day.month:02d}-{day.day:02d}"
    season = next(s for s in version.seasons if s.contains(month_day))
    return _working_day(version, day, month_day), season.name, tuple((s.start, s.end) for s in season.sessions)


def year_exceptions(version: CalendarVersion, year: int) -> tuple[list[date], list[date]] | None:
    """The days of `year` that the calendar takes off although they fall on a working weekday
    (public holidays, the library's and the ruleset's), and the days it works although they do
    not: what `working_time` makes of that year under `version`. None for a year whose public
    holidays the library does not cover (no day is then a working day)."""
    if version.public_holidays is not None and year_holidays(version.public_holidays.country, year) is None:
        return None
    off: list[date] = []
    worked: list[date] = []
    day = date(year, 1, 1)
    while day.year == year:
        usual = _WEEKDAYS[day.weekday()] in version.working_days
        if _working_day(version, day, f"{day.month:02d}-{day.day:02d}") != usual:
            (worked if not usual else off).append(day)
        day += timedelta(days=1)
    return off, worked


def _working_day(version: CalendarVersion, day: date, month_day: str) -> bool:
    """The ruleset's own dates first (they record what the library cannot know), then the library's
    public holidays, then the weekday. A year the library does not cover has no working day: without
    its holidays nobody can be said to be absent."""
    if day in version.working_weekend_days:
        return True
    if day in version.holidays or month_day in version.annual_holidays:
        return False
    if version.public_holidays is not None and day not in version.not_holidays:
        year = year_holidays(version.public_holidays.country, day.year)
        if year is None:
            return False
        if day in year.working_weekend_days:
            return True
        if day in year.days_off:
            return False
    return _WEEKDAYS[day.weekday()] in version.working_days
