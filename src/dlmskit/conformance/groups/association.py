"""Application association (IEC 62056-5-3, Green Book): open and release with each mechanism, wrong
credentials, unknown application contexts, conformance and PDU size negotiation."""

from __future__ import annotations

import contextlib
import dataclasses

from dlmskit.apdu import acse
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.initiate import InitiateResponse
from dlmskit.apdu.parse import decode_apdu_prefix
from dlmskit.codec import ber
from dlmskit.conformance.framework import TestContext, conformance_test
from dlmskit.conformance.groups._common import GREEN_BOOK, IEC_53, req
from dlmskit.errors import DlmsError
from dlmskit.session.client import ClientSession
from dlmskit.session.errors import AssociationRejected

_AUTHENTICATION_FAILURE = 13
_CONTEXT_NOT_SUPPORTED = 2


def _decode_aare(t: TestContext, raw: bytes, *, lenient: bool = False) -> acse.AARE:
    """The AARE in ``raw``. Bytes after it are a finding (association.public's, for every association
    opens the same way); with ``lenient`` they are passed over, for the tests that judge its content."""
    try:
        end = decode_apdu_prefix(raw)[1]
        aare = acse.AARE.decode(raw[:end])
    except DlmsError as error:
        t.fail("a well-formed AARE", str(error), got_bytes=raw)
    if end < len(raw) and not lenient:
        t.finding(
            "a well-formed AARE: nothing after it in the link frame (its BER length delimits it)",
            f"trailing bytes after the AARE: {len(raw) - end} ({raw[end:].hex(' ').upper()}) after its "
            f"{end} bytes",
            got_bytes=raw,
            effect="strict clients (dlmskit --strict) refuse the association; lenient ones (dlmskit by "
            "default, with a warning; gurux; jDLMS) read past the bytes",
        )
    return aare


def _initiate_response(aare: acse.AARE) -> InitiateResponse | None:
    info = aare.user_information or b""
    if info[:1] == bytes((InitiateResponse.TAG,)):
        return InitiateResponse.decode(info)
    return None


def _check_release(t: TestContext, raw: bytes) -> None:
    try:
        rlre = acse.RLRE.decode(raw)
    except DlmsError as error:
        got = str(error)
        with contextlib.suppress(DlmsError):
            _tag, start, end = ber.read_header(raw)
            if end != len(raw):
                got += f"; its length field says {end - start} bytes, {len(raw) - start} follow"
        t.finding(
            "a well-formed RLRE (every BER length right)",
            got,
            got_bytes=raw,
            effect="strict clients report the release as failed and may retry it",
        )
        return
    t.check(rlre.reason in (None, 0), "RLRE reason normal (0)", f"reason {rlre.reason}", got_bytes=raw)


@conformance_test(
    "association.public",
    requirement=req(
        IEC_53,
        "the public client (SAP 16) associates without authentication: AARE accepted, "
        "logical-name context, an InitiateResponse with VAA name 0x0007, nothing after the AARE; "
        "RLRQ is answered by RLRE",
    ),
    effect="no client can even read the meter's name without credentials",
)
def public(t: TestContext) -> None:
    """Open and release the public association."""
    association = t.meter.associate(public=True)
    try:
        association.open()
    except DlmsError as error:
        t.fail("the public association is accepted", str(error), got_bytes=association.aare)
    aare = _decode_aare(t, association.aare)
    t.check(
        aare.application_context_name == acse.ApplicationContextName.LOGICAL_NAME_NO_CIPHERING,
        "application context LN without ciphering (1)",
        f"context {aare.application_context_name}",
        got_bytes=association.aare,
    )
    response = _initiate_response(aare)
    if response is not None:
        t.check(
            response.vaa_name == 0x0007,
            "VAA name 0x0007 (LN)",
            f"0x{response.vaa_name:04X}",
            got_bytes=association.aare,
        )
    _check_release(t, association.release())


@conformance_test(
    "association.configured",
    requirement=req(
        IEC_53,
        "the configured client associates with its mechanism (LLS, HLS, HLS-GMAC) and "
        "releases with a well-formed RLRE (protected when the RLRQ was)",
    ),
    effect="the client cannot work with the meter at all",
)
def configured(t: TestContext) -> None:
    """Open and release the association of the given client and mechanism."""
    s = t.meter.settings
    if s.authentication == "none" and s.client_address == s.public_client_address:
        t.skip("the settings name the public client, tested by association.public")
    association = t.meter.associate()
    try:
        association.open()
    except DlmsError as error:
        t.fail(
            f"the {s.authentication} association of client {s.client_address} is accepted",
            str(error),
            got_bytes=association.hls_reply or association.aare,
        )
    _check_release(t, association.release())


@conformance_test(
    "association.wrong-password",
    requirement=req(
        GREEN_BOOK,
        "an AARQ with a wrong LLS password is rejected (result rejected-permanent, "
        "diagnostic authentication-failure 13)",
    ),
    effect="anyone can read or write what the password protects",
)
def wrong_password(t: TestContext) -> None:
    """LLS with a wrong password."""
    if t.meter.settings.authentication != "low":
        t.skip("the settings use no LLS password")
    association = t.meter.associate(password="wrong-password-0")  # noqa: S106 - wrong on purpose
    try:
        association.open()
    except AssociationRejected:
        aare = _decode_aare(t, association.aare, lenient=True)
        t.check(
            aare.result_source_diagnostic.value == _AUTHENTICATION_FAILURE,
            "diagnostic authentication-failure (13)",
            f"diagnostic {aare.result_source_diagnostic.value}",
            got_bytes=association.aare,
            effect="clients cannot tell a wrong password from other refusals",
        )
        return
    t.fail("the association is refused", "the meter accepted a wrong password", got_bytes=association.aare)


@conformance_test(
    "association.wrong-hls-secret",
    requirement=req(
        GREEN_BOOK, "HLS pass 3 with a wrong f(StoC) is refused and the association stays closed"
    ),
    effect="anyone can act as the management client",
)
def wrong_hls_secret(t: TestContext) -> None:
    """HLS (or HLS-GMAC) with the wrong secret or keys."""
    s = t.meter.settings
    if s.authentication in ("none", "low"):
        t.skip("the settings use no HLS")
    if s.authentication == "gmac":
        association = t.meter.associate(authentication_key="00" * 16)
    else:
        association = t.meter.associate(password="wrong-secret-000")  # noqa: S106 - wrong on purpose
    try:
        association.open()
    except DlmsError:
        return
    t.fail(
        "the HLS answer is refused", "the meter accepted a wrong HLS answer", got_bytes=association.hls_reply
    )


@conformance_test(
    "association.unknown-context",
    requirement=req(
        GREEN_BOOK,
        "an AARQ with an application context the meter does not support is rejected "
        "(rejected-permanent, diagnostic application-context-name-not-supported 2) and the "
        "rejection carries no InitiateResponse",
    ),
    effect="clients that read the InitiateResponse of a rejection take a refused association for open",
)
def unknown_context(t: TestContext) -> None:
    """AARQ with the short-name context to an LN meter... or to whatever the meter is not."""
    association = t.meter.associate(public=True)
    aarq = acse.AARQ.decode(association.session.associate())
    association.session = ClientSession(association.session.settings)
    other = dataclasses.replace(
        aarq, application_context_name=acse.ApplicationContextName.SHORT_NAME_NO_CIPHERING
    )
    try:
        association.open(other.encode())
    except DlmsError:
        pass
    else:
        t.skip("the meter accepts the short-name context too (it is an SN meter, or both)")
    aare = _decode_aare(t, association.aare, lenient=True)
    t.check(aare.result != 0, "the AARQ is rejected", "accepted", got_bytes=association.aare)
    t.check(
        aare.result_source_diagnostic.value == _CONTEXT_NOT_SUPPORTED,
        "diagnostic application-context-name-not-supported (2)",
        f"diagnostic {aare.result_source_diagnostic.value}",
        got_bytes=association.aare,
    )
    response = _initiate_response(aare)
    if response is not None:
        t.finding(
            "no InitiateResponse in a rejected AARE",
            f"an InitiateResponse (conformance {int(response.negotiated_conformance):06X}, max PDU "
            f"{response.server_max_receive_pdu_size})",
            got_bytes=association.aare,
        )


@conformance_test(
    "association.conformance",
    requirement=req(IEC_53, "the negotiated conformance block holds only services the client proposed"),
    effect="the meter uses services (block transfer, selective access) the client said it cannot handle",
)
def conformance(t: TestContext) -> None:
    """Propose get only (plus block transfer with get): the answer is a subset."""
    proposed = Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ

    def adjust(session: ClientSession) -> None:
        session.settings = dataclasses.replace(session.settings, conformance=proposed)

    association = t.meter.associate(adjust=adjust)
    try:
        association.open()
    except DlmsError as error:
        t.fail("an association proposing get and block transfer", str(error), got_bytes=association.aare)
    response = association.initiate_response
    if response is None:
        t.fail("an InitiateResponse in the AARE", "none that decodes", got_bytes=association.aare)
    granted = Conformance(int(response.negotiated_conformance))
    extra = granted & ~proposed
    t.check(
        not extra,
        "nothing but get and block-transfer-with-get",
        f"also {extra!r}" if extra else "",
        got_bytes=association.aare,
    )
    t.check(
        response.server_max_receive_pdu_size == 0 or response.server_max_receive_pdu_size >= 12,
        "a server max receive PDU size of at least 12 bytes (or 0: no limit)",
        str(response.server_max_receive_pdu_size),
        got_bytes=association.aare,
    )


@conformance_test(
    "association.pdu-size",
    requirement=req(
        IEC_53,
        "the meter sends no APDU longer than the client's max-receive-pdu-size; longer answers go in blocks",
    ),
    effect="clients with small buffers (256-byte modems) lose long answers",
)
def pdu_size(t: TestContext) -> None:
    """The object list read with a max receive PDU size of 256 bytes."""
    association = t.meter.associate(max_pdu_size=256)
    association.open()
    reply = association.get(15, "0.0.40.0.0.255", 2, lenient=True)  # bytes after it: services.get-normal
    for answer in reply.replies:
        t.check(
            len(answer.raw) <= 256,
            "APDUs of at most 256 bytes",
            f"{len(answer.raw)} bytes",
            got_bytes=answer.raw,
        )
    if reply.problem:
        t.finding("the object list decodes", reply.problem, got_bytes=reply.raw)
