"""The TCP-UDP wrapper (IEC 62056-47): header, wPorts and frames for unknown wPorts."""

from __future__ import annotations

from dlmskit.conformance.framework import TestContext, conformance_test
from dlmskit.conformance.groups._common import IEC_47, describe, plain_aarq, raw_of, req
from dlmskit.conformance.probe import RawLink
from dlmskit.link.wrapper import WrapperFrame


def _raw_wrapper(t: TestContext) -> RawLink:
    if t.meter.settings.link != "wrapper":
        t.skip("the meter is reached over HDLC, not the wrapper")
    return t.meter.raw()


@conformance_test(
    "wrapper.header",
    requirement=req(
        IEC_47,
        "the answer's header has version 0x0001, the wPorts of the request swapped and "
        "the exact length of the APDU",
    ),
    effect="clients that route answers by wPort drop them",
)
def header(t: TestContext) -> None:
    """An AARQ from the public client: the header of the answer."""
    raw = _raw_wrapper(t)
    s = t.meter.settings
    client = s.public_client_address
    raw.send(WrapperFrame(client, s.server_logical, plain_aarq()).encode())
    answer = raw.receive()
    if not isinstance(answer, WrapperFrame):
        t.fail("a wrapper frame answers the AARQ", describe(answer), got_bytes=raw_of(answer))
    t.check(
        answer.source_wport == s.server_logical and answer.dest_wport == client,
        f"from wPort {s.server_logical} to wPort {client}",
        f"from wPort {answer.source_wport} to wPort {answer.dest_wport}",
        got_bytes=answer.encode(),
    )
    extra = raw.receive(t.meter.silence)
    t.check(extra is None, "nothing after the answer", describe(extra), got_bytes=raw_of(extra))


@conformance_test(
    "wrapper.unknown-wport",
    requirement=req(
        IEC_47,
        "an APDU for a wPort with no logical device behind it gets no answer from another logical device",
    ),
    effect="clients addressing one logical device receive the answers of another",
)
def unknown_wport(t: TestContext) -> None:
    """An AARQ to wPort 0x7FFF."""
    raw = _raw_wrapper(t)
    s = t.meter.settings
    raw.send(WrapperFrame(s.public_client_address, 0x7FFF, plain_aarq()).encode())
    answer = raw.silent()
    if isinstance(answer, WrapperFrame):
        t.check(
            answer.source_wport == 0x7FFF,
            "silence (or an answer from wPort 0x7FFF itself)",
            f"an answer from wPort {answer.source_wport}",
            got_bytes=answer.encode(),
        )
