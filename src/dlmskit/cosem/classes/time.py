"""Time and scheduling classes: Clock (8), Script table (9), Schedule (10), Special days table (11),
Activity calendar (20) and Single action schedule (22)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.cosem.classes.common import SCRIPT_REFERENCE, T, dummy_method
from dlmskit.cosem.model import (
    ANY,
    DATE_STRING,
    DATE_TIME_STRING,
    LOGICAL_NAME_ATTRIBUTE,
    LOGICAL_NAME_STRING,
    TIME_STRING,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    names_of,
    structure,
)

__all__ = [
    "ACTIVITY_CALENDAR",
    "CLASSES",
    "CLOCK",
    "CLOCK_STATUS_BITS",
    "SCHEDULE",
    "SCRIPT_TABLE",
    "SINGLE_ACTION_SCHEDULE",
    "SPECIAL_DAYS_TABLE",
    "ClockBase",
    "ExecutionType",
    "ScriptService",
]


class ClockBase(IntEnum):
    """Clock clock_base: what drives the meter's clock."""

    NOT_DEFINED = 0
    INTERNAL_CRYSTAL = 1
    MAINS_FREQUENCY_50_HZ = 2
    MAINS_FREQUENCY_60_HZ = 3
    GPS = 4
    RADIO_CONTROLLED = 5


CLOCK_STATUS_BITS: Final = {
    0: "invalid_value",
    1: "doubtful_value",
    2: "different_clock_base",
    3: "invalid_clock_status",
    7: "daylight_saving_active",
}
"""The bits of the clock status byte (also the last byte of a date-time)."""


class ScriptService(IntEnum):
    """Script table action service_id."""

    WRITE_ATTRIBUTE = 1
    EXECUTE_METHOD = 2


class ExecutionType(IntEnum):
    """Single action schedule type: how many execution times, and whether dates may hold wildcards."""

    ONE_TIME_WILDCARD_DATE = 1
    SAME_TIMES_NO_WILDCARD_DATE = 2
    SAME_TIMES_WILDCARD_DATE = 3
    DIFFERENT_TIMES_NO_WILDCARD_DATE = 4
    DIFFERENT_TIMES_WILDCARD_DATE = 5


CLOCK: Final = InterfaceClass(
    8,
    0,
    "Clock",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2, "time", DATE_TIME_STRING, static=False, description="The meter's local date and time."
        ),
        AttributeDef(
            3,
            "time_zone",
            T.LONG,
            static=True,
            description="Minutes from local standard time to UTC (UTC = local + time_zone; 0x8000 = unknown).",
        ),
        AttributeDef(
            4,
            "status",
            T.UNSIGNED,
            static=False,
            description="Clock status bits.",
            bit_names=CLOCK_STATUS_BITS,
        ),
        AttributeDef(
            5,
            "daylight_savings_begin",
            DATE_TIME_STRING,
            static=True,
            description="When daylight saving starts (usually with wildcards: last Sunday of March...).",
        ),
        AttributeDef(
            6, "daylight_savings_end", DATE_TIME_STRING, static=True, description="When daylight saving ends."
        ),
        AttributeDef(
            7,
            "daylight_savings_deviation",
            T.INTEGER,
            static=True,
            description="Minutes added to local time during daylight saving.",
        ),
        AttributeDef(
            8,
            "daylight_savings_enabled",
            T.BOOLEAN,
            static=True,
            description="Whether daylight saving is used.",
        ),
        AttributeDef(
            9,
            "clock_base",
            T.ENUM,
            static=True,
            description="What drives the clock.",
            enum_names=names_of(ClockBase),
        ),
    ),
    (
        dummy_method(1, "adjust_to_quarter", "Rounds the time to the nearest quarter of an hour."),
        dummy_method(2, "adjust_to_measuring_period", "Rounds the time to the nearest measuring period."),
        dummy_method(3, "adjust_to_minute", "Rounds the time to the nearest minute."),
        dummy_method(4, "adjust_to_preset_time", "Sets the time to the preset time (see method 5)."),
        MethodDef(
            5,
            "preset_adjusting_time",
            structure(
                preset_time=DATE_TIME_STRING,
                validity_interval_start=DATE_TIME_STRING,
                validity_interval_end=DATE_TIME_STRING,
            ),
            description="Presets the time that adjust_to_preset_time sets, valid within the interval.",
        ),
        MethodDef(
            6,
            "shift_time",
            T.LONG,
            description="Shifts the time by -900..900 seconds.",
        ),
    ),
)

_ACTION_SPECIFICATION = structure(
    service_id=T.ENUM,
    class_id=T.LONG_UNSIGNED,
    logical_name=LOGICAL_NAME_STRING,
    index=T.INTEGER,
    parameter=ANY,
)

SCRIPT_TABLE: Final = InterfaceClass(
    9,
    0,
    "Script table",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "scripts",
            array_of(structure(script_identifier=T.LONG_UNSIGNED, actions=array_of(_ACTION_SPECIFICATION))),
            static=True,
            description="The scripts: an identifier and the attribute writes / method calls it performs "
            "(service_id 1 write attribute, 2 execute method).",
        ),
    ),
    (MethodDef(1, "execute", T.LONG_UNSIGNED, description="Runs the script with this identifier."),),
)

_SCHEDULE_TABLE_ENTRY = structure(
    index=T.LONG_UNSIGNED,
    enable=T.BOOLEAN,
    logical_name=LOGICAL_NAME_STRING,
    script_selector=T.LONG_UNSIGNED,
    switch_time=TIME_STRING,
    validity_window=T.LONG_UNSIGNED,
    exec_weekdays=T.BIT_STRING,
    exec_specdays=T.BIT_STRING,
    begin_date=DATE_STRING,
    end_date=DATE_STRING,
)
_RANGE = structure(first_index=T.LONG_UNSIGNED, last_index=T.LONG_UNSIGNED)

SCHEDULE: Final = InterfaceClass(
    10,
    0,
    "Schedule",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "entries",
            array_of(_SCHEDULE_TABLE_ENTRY),
            static=True,
            description="The schedule: which script to run at which time, on which days.",
        ),
    ),
    (
        MethodDef(
            1,
            "enable_disable",
            structure(
                disable_first=T.LONG_UNSIGNED,
                disable_last=T.LONG_UNSIGNED,
                enable_first=T.LONG_UNSIGNED,
                enable_last=T.LONG_UNSIGNED,
            ),
            description="Disables one range of entries and enables another (index ranges, 0 = none).",
        ),
        MethodDef(2, "insert", _SCHEDULE_TABLE_ENTRY, description="Inserts or replaces an entry."),
        MethodDef(3, "delete", _RANGE, description="Deletes a range of entries."),
    ),
)

_SPEC_DAY_ENTRY = structure(index=T.LONG_UNSIGNED, specialday_date=DATE_STRING, day_id=T.UNSIGNED)

SPECIAL_DAYS_TABLE: Final = InterfaceClass(
    11,
    0,
    "Special days table",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "entries",
            array_of(_SPEC_DAY_ENTRY),
            static=True,
            description="Special days (holidays) and the day profile used on each.",
        ),
    ),
    (
        MethodDef(1, "insert", _SPEC_DAY_ENTRY, description="Inserts or replaces a special day."),
        MethodDef(2, "delete", T.LONG_UNSIGNED, description="Deletes the special day with this index."),
    ),
)

_SEASON_PROFILE = array_of(
    structure(season_profile_name=T.OCTET_STRING, season_start=DATE_TIME_STRING, week_name=T.OCTET_STRING)
)
_WEEK_PROFILE_TABLE = array_of(
    structure(
        week_profile_name=T.OCTET_STRING,
        monday=T.UNSIGNED,
        tuesday=T.UNSIGNED,
        wednesday=T.UNSIGNED,
        thursday=T.UNSIGNED,
        friday=T.UNSIGNED,
        saturday=T.UNSIGNED,
        sunday=T.UNSIGNED,
    )
)
_DAY_PROFILE_TABLE = array_of(
    structure(
        day_id=T.UNSIGNED,
        day_schedule=array_of(
            structure(
                start_time=TIME_STRING,
                script_logical_name=LOGICAL_NAME_STRING,
                script_selector=T.LONG_UNSIGNED,
            )
        ),
    )
)


def _calendar_attributes(first: int, which: str) -> tuple[AttributeDef, ...]:
    return (
        AttributeDef(
            first, f"calendar_name_{which}", T.OCTET_STRING, static=True, description="Calendar name."
        ),
        AttributeDef(
            first + 1,
            f"season_profile_{which}",
            _SEASON_PROFILE,
            static=True,
            description="Seasons: start date-time and the week profile used.",
        ),
        AttributeDef(
            first + 2,
            f"week_profile_table_{which}",
            _WEEK_PROFILE_TABLE,
            static=True,
            description="Week profiles: the day profile used on each day of the week.",
        ),
        AttributeDef(
            first + 3,
            f"day_profile_table_{which}",
            _DAY_PROFILE_TABLE,
            static=True,
            description="Day profiles: at which times which script (tariff switch) runs.",
        ),
    )


ACTIVITY_CALENDAR: Final = InterfaceClass(
    20,
    0,
    "Activity calendar",
    (
        LOGICAL_NAME_ATTRIBUTE,
        *_calendar_attributes(2, "active"),
        *_calendar_attributes(6, "passive"),
        AttributeDef(
            10,
            "activate_passive_calendar_time",
            DATE_TIME_STRING,
            static=True,
            description="When the passive calendar becomes the active one.",
        ),
    ),
    (dummy_method(1, "activate_passive_calendar", "Makes the passive calendar the active one now."),),
)

SINGLE_ACTION_SCHEDULE: Final = InterfaceClass(
    22,
    0,
    "Single action schedule",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "executed_script", SCRIPT_REFERENCE, static=True, description="The script to run."),
        AttributeDef(
            3,
            "type",
            T.ENUM,
            static=True,
            description="How many execution times there are and whether dates may hold wildcards.",
            enum_names=names_of(ExecutionType),
        ),
        AttributeDef(
            4,
            "execution_time",
            array_of(structure(time=TIME_STRING, date=DATE_STRING)),
            static=True,
            description="When the script runs (end of billing period: e.g. day 1 of every month, 00:00).",
        ),
    ),
)

CLASSES: Final = (
    CLOCK,
    SCRIPT_TABLE,
    SCHEDULE,
    SPECIAL_DAYS_TABLE,
    ACTIVITY_CALENDAR,
    SINGLE_ACTION_SCHEDULE,
)
