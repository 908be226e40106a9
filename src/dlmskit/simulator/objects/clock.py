"""The clock (class 8): the meter's time, time zone and daylight saving; set, shift and adjust.

The clock shows the measurement timeline (see :class:`~dlmskit.simulator.meter.SimulatedMeter`) moved by an
offset: writing attribute 2 and methods 1-6 change the offset, never the timeline, so energy and load
profile rows stay functions of time alone. ``time_zone`` (attribute 3) follows the Blue Book convention
UTC = local + time_zone (UTC+07:00 is -420); with ``daylight_savings_enabled`` the clock adds
``daylight_savings_deviation`` minutes between ``daylight_savings_begin`` and ``_end`` (wildcard date-times
such as "last Sunday of March, 02:00") and sets status bit 7.

Behaviour: ``measuring_period = 900`` (seconds) for adjust_to_measuring_period.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from typing import Any

from dlmskit.apdu.action import ActionResponseWithOptionalData
from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.cosem_datetime import DEVIATION_NOT_SPECIFIED, ClockStatus, CosemDateTime
from dlmskit.session.server import AssociationContext
from dlmskit.simulator.events import EventCode
from dlmskit.simulator.model import ObjectModel
from dlmskit.simulator.objects.base import MeterServices, SimObject, done, refused

__all__ = ["Clock"]

_UTC = _dt.timezone.utc
_LAST_DAY = 0xFE
_SECOND_LAST_DAY = 0xFD


def _rule_instant(rule: CosemDateTime, year: int) -> _dt.datetime | None:
    """The (naive, local standard) instant of a daylight saving rule in ``year``; None if it has no month."""
    if not 1 <= rule.month <= 12:
        return None
    days = calendar.monthrange(year, rule.month)[1]
    if rule.day == _LAST_DAY:
        day = days
    elif rule.day == _SECOND_LAST_DAY:
        day = days - 1
    elif 1 <= rule.day <= days:
        day = rule.day
    else:
        day = 1
    if 1 <= rule.day_of_week <= 7:
        if rule.day in (_LAST_DAY, _SECOND_LAST_DAY):  # the last such weekday on or before the day
            day -= (_dt.date(year, rule.month, day).isoweekday() - rule.day_of_week) % 7
        else:  # the first such weekday on or after the day
            day += (rule.day_of_week - _dt.date(year, rule.month, day).isoweekday()) % 7
            if day > days:
                day -= 7

    def field(value: int, limit: int) -> int:
        return value if value < limit else 0

    return _dt.datetime(
        year, rule.month, day, field(rule.hour, 24), field(rule.minute, 60), field(rule.second, 60)
    )


class Clock(SimObject):
    """The meter's clock."""

    writable = frozenset({2, 3, 5, 6, 7, 8})
    methods = frozenset({1, 2, 3, 4, 5, 6})
    behaviours = frozenset({"measuring_period"})

    def __init__(self, model: ObjectModel, meter: MeterServices) -> None:
        super().__init__(model, meter)
        period = self.behaviour("measuring_period", int, 900)
        if period <= 0:
            raise model.error("measuring_period is a number of seconds above 0", "measuring_period")
        self.measuring_period = period
        self.offset = 0.0
        """Seconds between the clock and the measurement timeline (changed by setting the clock)."""
        self.preset: tuple[_dt.datetime, _dt.datetime, _dt.datetime] | None = None

    # -- time ------------------------------------------------------------------------------------------------

    def now(self) -> _dt.datetime:
        """The clock's time (UTC)."""
        return _dt.datetime.fromtimestamp(self.meter.base_time() + self.offset, _UTC)

    def _zone_minutes(self) -> int:
        zone = int(self.values[3])
        return 0 if zone == DEVIATION_NOT_SPECIFIED else zone

    def _dst_active(self, standard: _dt.datetime) -> bool:
        if not self.values[8]:
            return False
        begin = _rule_instant(CosemDateTime.from_bytes(bytes(self.values[5])), standard.year)
        end = _rule_instant(CosemDateTime.from_bytes(bytes(self.values[6])), standard.year)
        if begin is None or end is None:
            return False
        if begin <= end:
            return begin <= standard < end
        return standard >= begin or standard < end  # southern hemisphere: summer spans the new year

    def local(self, instant: _dt.datetime) -> CosemDateTime:
        """``instant`` as the clock shows it: local time, deviation and status."""
        zone = self._zone_minutes()
        standard = instant.astimezone(_UTC).replace(tzinfo=None) - _dt.timedelta(minutes=zone)
        status = int(self.values[4]) & ~ClockStatus.DAYLIGHT_SAVING_ACTIVE
        deviation = zone
        if self._dst_active(standard):
            shift = int(self.values[7])
            standard += _dt.timedelta(minutes=shift)
            deviation -= shift
            status |= ClockStatus.DAYLIGHT_SAVING_ACTIVE
        return CosemDateTime.from_datetime(standard, deviation=deviation, clock_status=status)

    def instant_of(self, value: CosemDateTime) -> _dt.datetime | None:
        """The point in time a client wrote (its own deviation, else the meter's current one)."""
        if not value.is_calendar_time:
            return None
        try:
            moment = value.to_datetime()
        except ValueError:
            return None
        if moment.tzinfo is None:
            deviation = self.local(self.now()).deviation
            moment = moment.replace(tzinfo=_dt.timezone(_dt.timedelta(minutes=-deviation)))
        return moment

    def _set(self, moment: _dt.datetime) -> None:
        self.offset = moment.timestamp() - self.meter.base_time()
        self.meter.log_event(EventCode.CLOCK_ADJUSTED)

    # -- COSEM -----------------------------------------------------------------------------------------------

    def read(
        self, attribute: int, context: AssociationContext | None, access: SelectiveAccessDescriptor | None
    ) -> Any:
        if attribute == 2:
            return axdr.OctetString(self.local(self.now()).to_bytes())
        if attribute == 4:
            return axdr.Unsigned(self.local(self.now()).clock_status)
        return super().read(attribute, context, access)

    def captured(self, attribute: int, start: float, end: float) -> axdr.Data:
        if attribute == 2:
            return axdr.OctetString(self.local(_dt.datetime.fromtimestamp(end, _UTC)).to_bytes())
        return super().captured(attribute, start, end)

    def write(self, attribute: int, value: axdr.Data, context: AssociationContext) -> DataAccessResult:
        if attribute == 2:
            moment = self.instant_of(CosemDateTime.from_bytes(bytes(value)))
            if moment is None:
                return DataAccessResult.OTHER_REASON
            self._set(moment)
            return DataAccessResult.SUCCESS
        if attribute == 3 and not -720 <= int(value) <= 840 and int(value) != DEVIATION_NOT_SPECIFIED:
            return DataAccessResult.OTHER_REASON
        return super().write(attribute, value, context)

    def _round(self, step: int) -> ActionResponseWithOptionalData:
        seconds = self.now().timestamp()
        self._set(_dt.datetime.fromtimestamp(round(seconds / step) * step, _UTC))
        return done()

    def invoke(
        self, method: int, parameters: axdr.Data, context: AssociationContext
    ) -> ActionResponseWithOptionalData:
        if method == 1:
            return self._round(900)
        if method == 2:
            return self._round(self.measuring_period)
        if method == 3:
            return self._round(60)
        if method == 4:
            if self.preset is None:
                return refused(ActionResult.OTHER_REASON)
            preset, valid_from, valid_to = self.preset
            if not valid_from <= self.now() <= valid_to:
                return refused(ActionResult.OTHER_REASON)
            self.preset = None
            self._set(preset)
            return done()
        if method == 5:
            moments = [self.instant_of(CosemDateTime.from_bytes(bytes(item))) for item in parameters]
            if any(moment is None for moment in moments):
                return refused(ActionResult.OTHER_REASON)
            preset, valid_from, valid_to = (m for m in moments if m is not None)
            self.preset = (preset, valid_from, valid_to)
            return done()
        shift = int(parameters)
        if not -900 <= shift <= 900:
            return refused(ActionResult.OTHER_REASON)
        self._set(self.now() + _dt.timedelta(seconds=shift))
        return done()
