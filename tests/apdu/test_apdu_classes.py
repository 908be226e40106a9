"""Every xDLMS APDU class defines its body's encoder and decoder (XdlmsApdu is a plain base class, not an
``abc.ABC``, so nothing else would say it; see its docstring)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import dlmskit.apdu
from dlmskit.apdu.common import XdlmsApdu


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def _apdu_classes() -> list[type[XdlmsApdu]]:
    for module in pkgutil.iter_modules(dlmskit.apdu.__path__):
        importlib.import_module(f"dlmskit.apdu.{module.name}")
    return [cls for cls in _all_subclasses(XdlmsApdu) if cls.__module__.startswith("dlmskit.apdu.")]


def test_there_are_apdu_classes() -> None:
    assert len(_apdu_classes()) > 20


@pytest.mark.parametrize("cls", _apdu_classes(), ids=lambda cls: cls.__name__)
def test_each_apdu_class_encodes_and_decodes_its_body(cls: type[XdlmsApdu]) -> None:
    assert isinstance(cls.TAG, int)
    assert cls._encode_body is not XdlmsApdu._encode_body
    assert cls._decode_body.__func__ is not XdlmsApdu._decode_body.__func__  # type: ignore[attr-defined]


def test_the_base_says_what_is_missing() -> None:
    class Incomplete(XdlmsApdu):
        TAG = 0x01

    with pytest.raises(NotImplementedError, match="Incomplete defines no _encode_body"):
        Incomplete().encode()
    with pytest.raises(NotImplementedError, match="Incomplete defines no _decode_body"):
        Incomplete.decode(b"\x01")
