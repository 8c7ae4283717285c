"""SearchFilter checks its dates: they are compared as text, so a wrong one must not filter silently."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from clipsearch import SearchFilter, iso_day


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("  ", None), ("2024-07-31", "2024-07-31"), (" 2024-02-29 ", "2024-02-29"),
    (date(2021, 5, 3), "2021-05-03"), (datetime(2021, 5, 3, 23, 59), "2021-05-03"),
])
def test_iso_day_reads_days_and_nothing_else(value, expected):
    assert iso_day(value) == expected


@pytest.mark.parametrize("value, first, last", [
    ("2019", "2019-01-01", "2019-12-31"), ("2019-06", "2019-06-01", "2019-06-30"),
    ("2024-02", "2024-02-01", "2024-02-29"), ("2023-02", "2023-02-01", "2023-02-28"),
    ("2019-06-15", "2019-06-15", "2019-06-15"),
])
def test_a_year_or_a_month_is_its_first_day_or_to_the_end_its_last(value, first, last):
    assert (iso_day(value), iso_day(value, end=True)) == (first, last)
    where = SearchFilter(date_from=value, date_to=value)  # "in 2019": since 2019, until 2019
    assert (where.date_from, where.date_to) == (first, last)


def test_the_page_and_the_rest_route_read_a_year_or_a_month_as_a_period():
    from webui.handlers import parse_filter

    where = parse_filter(None, "2019-06", "2019", ("since", "until"))
    assert (where.date_from, where.date_to) == ("2019-06-01", "2019-12-31")


@pytest.mark.parametrize("value", ["yesterday", "2020/01/01", "2020-02-30", "2023-02-29", "2020-13-01", "31.12.2020",
                                   "2019-13", "0000", "2019-6", "19"])
def test_a_wrong_day_says_what_it_got(value):
    with pytest.raises(ValueError, match=f"{value!r} is not a date like 2024-07-31 .or a month, 2024-07, or a year, 2024."):
        iso_day(value)
    with pytest.raises(ValueError, match=f"{value!r} is not a date like"):
        iso_day(value, end=True)


def test_search_filter_keeps_iso_days_and_refuses_the_rest():
    where = SearchFilter(folder="/photos", date_from=date(2020, 1, 1), date_to=" 2020-12-31")
    assert (where.date_from, where.date_to) == ("2020-01-01", "2020-12-31")
    assert SearchFilter(date_from="", date_to=None).is_empty()
    with pytest.raises(ValueError, match="date_to: '2020-02-30' is not a date"):
        SearchFilter(date_to="2020-02-30")
    with pytest.raises(ValueError, match="the date range is empty: 2021-01-01 is after 2020-01-01"):
        SearchFilter(date_from="2021-01-01", date_to="2020-01-01")
    assert SearchFilter(date_from="2020-06-01", date_to="2020-06-01").date_to == "2020-06-01"  # one day
