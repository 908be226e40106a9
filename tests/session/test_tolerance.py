"""Tolerance of the client session (docs/tolerance.md): each accepted deviation with its warning, each
refused in strict mode, and the session defined afterwards. The byte vectors name their public source."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmskit.apdu.acse import AARE, ApplicationContextName
from dlmskit.apdu.common import CosemAttributeDescriptor
from dlmskit.apdu.conformance import Conformance
from dlmskit.codec.obis import Obis
from dlmskit.deviations import CODES, DeviationError
from dlmskit.errors import DecodeError
from dlmskit.link.hdlc_frame import HdlcFrame
from dlmskit.session.client import ClientSession, ClientSettings, SessionState
from dlmskit.session.errors import AssociationRejected
from dlmskit.session.events import Discarded, GetCompleted, Negotiated, Released

CLOCK = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)

# jDLMS (github:openmuc/jdlms, mirrored as github:xdom/jdlms), src/test/java/org/openmuc/jdlms/sessionlayer/
# hdlc/HdlcFrameTest.java, decode3: a meter's AARE in an HDLC I-frame, one 00 byte after the AARE. The
# flags are added here; HCS 6C7C and FCS 0AA8 are the test's own.
JDLMS_AARE_FRAME = bytes.fromhex(
    "7EA0372103306C7CE6E7006128A109060760857405080102A203020100A305A103020100"
    "BE0F040D0800065F1F04001802200960FA000AA87E"
)
# shared/interop/gurux-c-server/a-hdlc-public-clock.txt line 20 (the APDU after the LLC bytes E6 E7 00).
GURUX_CLOCK_ANSWER = bytes.fromhex("C401C100090C07EA0C070102371700000000090F090C07EA0C070102371700000000090F")
# e-sn-port-ln-aarq.txt line 16: the SN port's AARE to an LN AARQ.
GURUX_SN_REJECTION = bytes.fromhex(
    "6129A109060760857405080102A203020101A305A103020102BE10040E0800065F1F0400000000FFFFFA00"
)


def _session(*, strict: bool = False, conformance: Conformance | None = None) -> ClientSession:
    session = ClientSession(ClientSettings(strict=strict))
    granted = conformance if conformance is not None else Conformance.default_ln_client()
    session.assume_associated(Negotiated(granted, 0xFFFF, 0xFFFF, 6, 0xFA00, None, 0))
    return session


def test_every_deviation_code_is_documented() -> None:
    policy = (Path(__file__).resolve().parents[2] / "docs" / "tolerance.md").read_text(encoding="utf-8")
    for code in CODES:
        assert f"`{code}`" in policy


def test_trailing_bytes_after_a_get_value_are_reported() -> None:
    session = _session()
    session.get(CLOCK)
    event = session.receive(GURUX_CLOCK_ANSWER)
    assert isinstance(event, GetCompleted)
    assert event.results[0].value == bytes.fromhex("07EA0C070102371700000000")
    [deviation] = session.deviations
    assert (deviation.code, deviation.offset) == ("trailing-bytes", 18)
    assert "gurux" in deviation.source.lower()


def test_strict_refuses_trailing_bytes_and_the_session_stays_usable() -> None:
    session = _session(strict=True)
    session.get(CLOCK)
    with pytest.raises(DeviationError) as raised:
        session.receive(GURUX_CLOCK_ANSWER)
    assert raised.value.deviation.code == "trailing-bytes"
    assert session.state == SessionState.ASSOCIATED
    session.get(CLOCK)  # no "still waiting for its answer"


def test_lengths_past_the_data_are_never_accepted() -> None:
    session = _session()
    session.get(CLOCK)
    with pytest.raises(DecodeError):
        session.receive(bytes.fromhex("C401C100090C07EA0C07"))  # a 12-byte octet-string cut short
    session.get(CLOCK)


def test_jdlms_padding_after_the_aare_then_sn_named() -> None:
    frame = HdlcFrame.decode(JDLMS_AARE_FRAME)
    apdu = frame.information[3:]  # after the LLC bytes E6 E7 00
    session = ClientSession(ClientSettings())
    session.associate()
    with pytest.raises(AssociationRejected, match=r"short-name referencing \(SN\)"):
        session.receive(apdu)
    [deviation] = session.deviations
    assert (deviation.code, deviation.offset) == ("padding-after-aare", 42)
    assert session.state == SessionState.IDLE


def test_jdlms_padding_is_an_error_in_strict_mode() -> None:
    apdu = HdlcFrame.decode(JDLMS_AARE_FRAME).information[3:]
    session = ClientSession(ClientSettings(strict=True))
    session.associate()
    with pytest.raises(DeviationError, match="padding-after-aare"):
        session.receive(apdu)
    assert session.state == SessionState.IDLE
    session.associate()  # a new attempt can start


def test_padding_after_an_accepted_ln_aare_is_accepted() -> None:
    aare = AARE(
        application_context_name=ApplicationContextName.LOGICAL_NAME_NO_CIPHERING,
        user_information=bytes.fromhex("0800065F1F040000181D0400 0007".replace(" ", "")),
    ).encode()
    session = ClientSession(ClientSettings())
    session.associate()
    session.receive(aare + b"\x00")
    assert session.state == SessionState.ASSOCIATED
    assert [d.code for d in session.deviations] == ["padding-after-aare"]


def test_sn_port_rejection_says_short_name() -> None:
    session = ClientSession(ClientSettings())
    session.associate()
    with pytest.raises(AssociationRejected, match=r"short-name referencing \(SN\)"):
        session.receive(GURUX_SN_REJECTION)


def test_rlre_with_bad_lengths_still_releases() -> None:
    # b line 44 / c line 42: RLRE length 0x24 where 40 bytes follow, user-information 0x22 where 35 follow.
    rlre = bytes.fromhex(
        "6324800100BE220421281F300000000E50BF2A0113E0618D4937651D560BDD640D2B6940E3CEBC1CEA8D"
    )
    session = _session()
    session.release()
    event = session.receive(rlre)
    assert isinstance(event, Released) and event.reason == 0
    assert [d.code for d in session.deviations] == ["rlre-lengths"]
    assert session.state == SessionState.IDLE

    strict = _session(strict=True)
    strict.release()
    with pytest.raises(DeviationError):
        strict.receive(rlre)
    assert strict.state == SessionState.IDLE


def test_block_transfer_not_granted_is_read_with_a_warning() -> None:
    # Client 16 of the Gurux C server is granted get and set only (00 00 18), yet gets blocks.
    session = _session(conformance=Conformance.GET | Conformance.SET)
    session.get(CLOCK)
    block = bytes.fromhex("C402C10100000001000E090C07EA0C070102371700000000")
    event = session.receive(block)
    assert isinstance(event, GetCompleted)
    assert [d.code for d in session.deviations] == ["ungranted-block-transfer"]


def test_a_late_answer_to_an_abandoned_request_is_discarded() -> None:
    session = _session()
    first = session.get(CLOCK)
    session.abandon()  # the driver's timeout
    session.get(CLOCK)
    late = bytes.fromhex("C401") + first[2:3] + bytes.fromhex("00090C07EA0C070102371700000000")
    assert isinstance(session.receive(late), Discarded)
