"""dlmskit.simulator: a DLMS/COSEM meter that behaves like a real one, for demos, tests and users without hardware.

- :class:`SimulatedMeter`: the meter (a :class:`~dlmskit.session.server.ServerApplication`) built from a model;
- :func:`default_model`, :func:`load_model`, :func:`parse_model`: meter models (TOML, ``docs/simulator.md``);
- :class:`SimulatorThread` and :func:`serve`: run it over TCP or a serial line;
- :class:`MeterServer`: the network side, for any server application.
"""

from __future__ import annotations

from dlmskit.simulator.meter import SimulatedMeter
from dlmskit.simulator.model import MeterModel, default_model, load_model, parse_model
from dlmskit.simulator.runner import SimulatorThread, default_state_dir, serve
from dlmskit.simulator.server import MeterServer

__all__ = [
    "MeterModel",
    "MeterServer",
    "SimulatedMeter",
    "SimulatorThread",
    "default_model",
    "default_state_dir",
    "load_model",
    "parse_model",
    "serve",
]
