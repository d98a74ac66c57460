"""A country's public holidays from the `holidays` package, one year at a time.

The law fixes the holidays (Bộ luật Lao động 2019, Điều 112: Tết Dương lịch, five days of Tết,
Giỗ Tổ Hùng Vương, 30/4, 1/5, two days of Quốc khánh) and gives a day off in compensation when
one falls on a weekly rest day; the Government then swaps working days around them each year.
The lunar dates, the compensation days and the swaps it has recorded come from the library
(kept by many contributors against the published notices) instead of a list typed by hand.
The answer depends only on the country, the year and the library's version, never on today's
date or the network.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import holidays as _library
from holidays.registry import EntityLoader
from holidays.version import __version__ as _library_version

SOURCE = "holidays"


@dataclass(frozen=True)
class YearHolidays:
    """What the library says of one year: the public holidays (with their compensation and
    swapped days off) and the weekend days the Government declared working days instead."""

    days_off: frozenset[date]
    working_weekend_days: frozenset[date]


def library_version() -> str:
    return _library_version


def identity() -> str:
    """Names the library and its version, for the ruleset's digest: another version may know
    another swap, and so judge the same visit otherwise."""
    return f"{SOURCE}=={library_version()}"


def knows(country: str) -> bool:
    """Whether the library has the country under this two-letter code (it also answers to three
    letters; one name per country is enough). Read from its registry, which imports no country:
    listing them all, or making one, loads modules, a tenth of a second at each start."""
    return len(country) == 2 and country in _country_codes()


def countries() -> frozenset[str]:
    """Every two-letter code the library knows, for the nearest one to a mistaken code."""
    return frozenset(code for code in _country_codes() if len(code) == 2)


@functools.cache
def _country_codes() -> frozenset[str]:
    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


@functools.cache
def years_covered(country: str) -> range:
    cls = _library.country_holidays(country).__class__
    return range(cls.start_year, cls.end_year + 1)


@functools.lru_cache(maxsize=4096)
def year_holidays(country: str, year: int) -> YearHolidays | None:
    """The library's holidays of `country` in `year`, or None for a year it does not cover
    (for Vietnam, before 1901 and after 2100: the lunar calendar table ends there)."""
    if year not in years_covered(country):
        return None
    # The neighbouring years too: a compensation day may cross the new year.
    table = _library.country_holidays(country, years=(year - 1, year, year + 1))
    return YearHolidays(
        days_off=frozenset(d for d in table if d.year == year),
        working_weekend_days=frozenset(d for d in table.weekend_workdays if d.year == year),
    )
