"""Communication setup objects: IEC HDLC setup (class 23) and TCP-UDP setup (class 41).

They hold the model's values like any object; what they add is that a client with the right may change the
timeouts the meter's server applies (``MeterServer`` asks the meter for them on every read of the line, so
a SET takes effect on the connections already open):

- IEC HDLC setup: attribute 7 ``inter_octet_time_out`` (milliseconds of silence inside a frame after which
  what arrived of it is dropped) and attribute 8 ``inactivity_time_out`` (seconds without a complete
  request before the connection is dropped; 0 = never);
- TCP-UDP setup: attribute 5 ``nb_of_sim_conn`` (connections served at once; 0 = no cap) and attribute 6
  ``inactivity_time_out`` (seconds, for the wrapper; 0 = never).
"""

from __future__ import annotations

from dlmskit.simulator.objects.base import SimObject

__all__ = ["HdlcSetup", "TcpUdpSetup"]


class HdlcSetup(SimObject):
    """IEC HDLC setup (class 23): the timeouts are writable."""

    writable = frozenset({7, 8})


class TcpUdpSetup(SimObject):
    """TCP-UDP setup (class 41): the connection cap and the inactivity timeout are writable."""

    writable = frozenset({5, 6})
