"""Time zones: resolution from CRM / country / phone / population, and DST-correct conversions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cdp_pipeline.models.timezones import (
    country_zone_table,
    local_hour_of_week,
    next_week_utc,
    resolve_timezones,
)

MON, SAT, SUN = 0, 5, 6


def how(day: int, hour: int) -> int:
    return day * 24 + hour


def profiles(**columns) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(vals, dtype="string") for name, vals in columns.items()})


def test_a_valid_crm_zone_is_used_as_written_tolerating_case_and_spaces():
    result = resolve_timezones(profiles(timezone=["Europe/Madrid", " america/new_york "]))
    assert result["timezone"].tolist() == ["Europe/Madrid", "America/New_York"]
    assert result["timezone_basis"].tolist() == ["crm", "crm"]


def test_an_invalid_or_blank_crm_zone_falls_back_to_the_country_given_as_code_or_name():
    result = resolve_timezones(
        profiles(
            timezone=["Mars/Olympus", None, None, None],
            country=["ES", "Spain", "España ", "United Kingdom"],
        )
    )
    assert result["timezone"].tolist() == [
        "Europe/Madrid", "Europe/Madrid", "Europe/Madrid", "Europe/London"
    ]
    assert set(result["timezone_basis"]) == {"country"}


def test_a_multi_zone_country_gets_its_most_populous_zone():
    table = country_zone_table()
    assert table["US"] == "America/New_York"
    assert table["AU"] == "Australia/Sydney"
    assert table["BR"] == "America/Sao_Paulo"
    assert table["CA"] == "America/Toronto"


def test_the_international_calling_code_of_the_phone_is_used_when_there_is_no_country():
    result = resolve_timezones(
        profiles(timezone=[None, None, None], country=[None, None, None],
                 phone=["+34 612 34 56 78", "0061 2 9999 0000", "612 34 56 78"])
    )
    assert result["timezone"].tolist()[:2] == ["Europe/Madrid", "Australia/Sydney"]
    assert result["timezone_basis"].tolist() == ["phone", "phone", "population"]


def test_unknown_zones_get_the_populations_most_common_zone():
    result = resolve_timezones(
        profiles(
            timezone=["Europe/Berlin", "Europe/Berlin", "Asia/Tokyo", None, "n/a"],
            country=[None, None, None, "Narnia", None],
        )
    )
    assert result["timezone"].tolist()[3:] == ["Europe/Berlin", "Europe/Berlin"]
    assert result["timezone_basis"].tolist()[3:] == ["population", "population"]


def test_with_no_evidence_at_all_everyone_is_placed_in_utc():
    result = resolve_timezones(profiles(timezone=[None, None]))
    assert result["timezone"].tolist() == ["UTC", "UTC"]


def utc(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True))


def test_local_hour_of_week_follows_madrid_clock_changes_in_march_and_october():
    times = utc(
        "2026-03-29 00:30", "2026-03-29 01:30",  # 01:30 CET, then 03:30 CEST (02:xx skipped)
        "2026-10-25 00:30", "2026-10-25 01:30",  # 02:30 CEST, then 02:30 CET (repeated)
    )
    hours = local_hour_of_week(times, pd.Series(["Europe/Madrid"] * 4))
    assert hours.tolist() == [how(SUN, 1), how(SUN, 3), how(SUN, 2), how(SUN, 2)]


def test_local_hour_of_week_follows_sydney_clock_changes_in_april_and_october():
    times = utc(
        "2026-04-04 15:30", "2026-04-04 16:30",  # 02:30 AEDT, then 02:30 AEST (repeated)
        "2026-10-03 15:30", "2026-10-03 16:30",  # 01:30 AEST, then 03:30 AEDT (02:xx skipped)
    )
    hours = local_hour_of_week(times, pd.Series(["Australia/Sydney"] * 4))
    assert hours.tolist() == [how(SUN, 2), how(SUN, 2), how(SUN, 1), how(SUN, 3)]


def test_local_hour_of_week_handles_several_zones_in_one_call():
    times = utc("2026-11-16 12:00", "2026-11-16 12:00", "2026-11-16 12:00")
    hours = local_hour_of_week(times, pd.Series(["America/New_York", "UTC", "Asia/Tokyo"]))
    assert hours.tolist() == [how(MON, 7), how(MON, 12), how(MON, 21)]


def test_next_week_places_the_local_hour_in_the_seven_days_after_the_reference_date():
    # Reference Friday 2026-11-20: the coming Monday 09:00 New York (EST, UTC-5) is 14:00 UTC.
    assert next_week_utc(how(MON, 9), "America/New_York", date(2026, 11, 20)).tolist() == [14]
    # Monday 01:00 in Sydney (UTC+11) is still Sunday 14:00 UTC: the week wraps around.
    assert next_week_utc(how(MON, 1), "Australia/Sydney", date(2026, 11, 20)).tolist() == [
        how(SUN, 14)
    ]


@pytest.mark.parametrize(
    ("zone", "reference", "local", "expected", "why"),
    [
        ("Europe/Madrid", date(2026, 3, 28), how(SUN, 2), how(SUN, 1),
         "02:00 does not exist: moves forward to 03:00 CEST = 01:00 UTC"),
        ("Europe/Madrid", date(2026, 3, 28), how(SUN, 1), how(SUN, 0), "01:00 CET, before"),
        ("Europe/Madrid", date(2026, 10, 24), how(SUN, 2), how(SUN, 0),
         "02:00 happens twice: the first, 02:00 CEST = 00:00 UTC"),
        ("Europe/Madrid", date(2026, 10, 24), how(SUN, 3), how(SUN, 2), "03:00 CET, after"),
        ("Australia/Sydney", date(2026, 4, 4), how(SUN, 2), how(SAT, 15),
         "02:00 happens twice: the first, 02:00 AEDT = Saturday 15:00 UTC"),
        ("Australia/Sydney", date(2026, 10, 3), how(SUN, 2), how(SAT, 16),
         "02:00 does not exist: moves forward to 03:00 AEDT = Saturday 16:00 UTC"),
        ("Australia/Sydney", date(2026, 10, 3), how(SUN, 4), how(SAT, 17), "04:00 AEDT"),
    ],
)
def test_next_week_handles_daylight_saving_in_both_hemispheres(
    zone, reference, local, expected, why
):
    assert next_week_utc(local, zone, reference).tolist() == [expected], why


def test_next_week_is_vectorised_over_persons_in_different_zones():
    local = np.array([how(SUN, 2), how(SUN, 2), how(MON, 9)])
    zones = np.array(["Europe/Madrid", "Australia/Sydney", "Europe/Madrid"])
    together = next_week_utc(local, zones, date(2026, 3, 28))
    one_by_one = [next_week_utc(h, z, date(2026, 3, 28))[0] for h, z in zip(local, zones)]
    assert together.tolist() == one_by_one


def test_a_city_takes_the_zone_its_crm_zoned_neighbours_carry_before_the_country_default():
    result = resolve_timezones(
        profiles(
            timezone=["America/Los_Angeles"] * 3 + [None, None],
            country=["US"] * 5,
            city=["Los Angeles", "los angeles", "Los Angeles", "Los Angeles ", "Boston"],
        )
    )
    assert result["timezone"].tolist()[3:] == ["America/Los_Angeles", "America/New_York"]
    assert result["timezone_basis"].tolist()[3:] == ["city", "country"]


def test_a_city_with_too_few_crm_zoned_neighbours_lends_no_zone():
    result = resolve_timezones(
        profiles(timezone=["America/Chicago", None], country=["US", "US"],
                 city=["Austin", "Austin"])
    )
    assert result["timezone"].tolist()[1] == "America/New_York"
    assert result["timezone_basis"].tolist()[1] == "country"
