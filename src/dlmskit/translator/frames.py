"""HDLC and wrapper frames as translator elements (the Gurux ``<HDLC>`` and ``<WRAPPER>`` layouts).

::

    <HDLC len="2D">                                frame length field (the bytes between the flags), hex
      <!-- logical device 1, physical device 35 -->
      <TargetAddress Value="A3" />                 the address value: upper << 7 | lower (<< 14 for 4 bytes)
      <SourceAddress Value="4" />
      <!-- I-frame N(S)=2 N(R)=2, poll -->
      <FrameType Value="54" />                     the control byte
      <PDU> ...the APDU... </PDU>
    </HDLC>

SNRM and UA show their link parameters (``<Snrm><MaxInfoTX Value="128" />...``, decimal as Gurux writes
them), DISC, DM and FRMR their own element, and a segment of an APDU that continues in the next frame its
bytes as ``<NextFrame Value=".." />``. The APDU inside I- and UI-frames is decoded by the caller.
"""

from __future__ import annotations

from dlmskit.errors import DecodeError
from dlmskit.link.hdlc_address import HdlcAddress
from dlmskit.link.hdlc_frame import Control, FrameType, HdlcFrame
from dlmskit.link.hdlc_parameters import HdlcParameters
from dlmskit.link.wrapper import HEADER_LENGTH, WrapperFrame
from dlmskit.translator.tree import Node

__all__ = ["address_value", "control_comment", "hdlc_node", "wrapper_node"]

_FRAME_ELEMENTS = {
    FrameType.SNRM: "Snrm",
    FrameType.UA: "Ua",
    FrameType.DISC: "DisconnectRequest",
    FrameType.DM: "DisconnectMode",
    FrameType.FRMR: "UnacceptableFrame",
}
_FRAME_WORDS = {
    FrameType.I: "I-frame",
    FrameType.RR: "RR (receive ready)",
    FrameType.RNR: "RNR (receive not ready)",
    FrameType.SNRM: "SNRM (set normal response mode)",
    FrameType.UA: "UA (unnumbered acknowledge)",
    FrameType.DISC: "DISC (disconnect)",
    FrameType.DM: "DM (disconnected mode)",
    FrameType.FRMR: "FRMR (frame reject)",
    FrameType.UI: "UI (unnumbered information)",
}


def address_value(address: HdlcAddress) -> int:
    """The address as one number, as Gurux writes it: upper << 7 | lower (upper << 14 | lower for 4 bytes)."""
    if address.physical is None:
        return address.logical
    return (address.logical << (7 if address.size == 2 else 14)) | address.physical


def _address_comment(address: HdlcAddress) -> str:
    if address.physical is None:
        return f"address {address.logical} (1 byte)"
    return f"logical device {address.logical}, physical device {address.physical} ({address.size} bytes)"


def control_comment(control: Control) -> str:
    """``I-frame N(S)=2 N(R)=2, poll/final``: the control field in words."""
    words = _FRAME_WORDS[control.kind]
    if control.kind is FrameType.I:
        words += f" N(S)={control.ns} N(R)={control.nr}"
    elif control.kind in (FrameType.RR, FrameType.RNR):
        words += f" N(R)={control.nr}"
    return words + (", poll/final" if control.poll_final else "")


def hdlc_node(frame: HdlcFrame) -> Node:
    """The frame's element with its addresses and control field; the information field is not added
    for I- and UI-frames (the caller adds the APDU or the segment)."""
    length = len(frame.encode()) - 2
    node = Node(
        "HDLC",
        {"len": f"{length:X}"},
        children=[
            Node.leaf("TargetAddress", f"{address_value(frame.dest):X}", _address_comment(frame.dest)),
            Node.leaf("SourceAddress", f"{address_value(frame.src):X}", _address_comment(frame.src)),
            Node.leaf("FrameType", f"{frame.control.encode():02X}", control_comment(frame.control)),
        ],
    )
    if frame.segmented:
        node.comment = "segmented: the information continues in the next frame"
    element = _FRAME_ELEMENTS.get(frame.control.kind)
    if element is None:
        return node
    if frame.control.kind in (FrameType.SNRM, FrameType.UA) and frame.information:
        node.add(Node("PDU", children=[_parameters_node(element, frame.information)]))
    elif frame.information:
        node.add(Node.leaf(element, frame.information.hex().upper()))
    else:
        node.add(Node(element))
    return node


def _parameters_node(element: str, information: bytes) -> Node:
    try:
        parameters = HdlcParameters.decode(information)
    except DecodeError as exc:
        return Node(
            element, {"Value": information.hex().upper()}, notes=[f"cannot decode the parameters: {exc}"]
        )
    return Node(
        element,
        children=[
            Node.leaf(
                "MaxInfoTX", str(parameters.max_info_tx), "maximum information field length transmitted"
            ),
            Node.leaf("MaxInfoRX", str(parameters.max_info_rx), "maximum information field length received"),
            Node.leaf("WindowSizeTX", str(parameters.window_tx), "window size transmit"),
            Node.leaf("WindowSizeRX", str(parameters.window_rx), "window size receive"),
        ],
    )


def wrapper_node(frame: WrapperFrame) -> Node:
    """The wrapper frame's element with its wPorts; the caller adds the APDU."""
    return Node(
        "WRAPPER",
        {"len": f"{HEADER_LENGTH + len(frame.apdu):X}"},
        children=[
            Node.leaf("TargetAddress", f"{frame.dest_wport:X}", f"destination wPort {frame.dest_wport}"),
            Node.leaf("SourceAddress", f"{frame.source_wport:X}", f"source wPort {frame.source_wport}"),
        ],
    )
