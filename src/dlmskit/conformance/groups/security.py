"""Security suite 0 (IEC 62056-5-3 security, Green Book): the meter's invocation counters, tags, replays and
downgrades. These tests need a ciphered association (keys in the settings); they skip otherwise."""

from __future__ import annotations

import itertools

from dlmskit.apdu.common import CosemAttributeDescriptor
from dlmskit.apdu.get import GetRequestNormal, GetResponseNormal
from dlmskit.conformance.framework import TestContext, conformance_test
from dlmskit.conformance.groups._common import GREEN_BOOK, req
from dlmskit.conformance.groups.services import LOGICAL_DEVICE_NAME
from dlmskit.conformance.probe import Association, Reply
from dlmskit.errors import DlmsError


def _ciphered(t: TestContext) -> Association:
    if not t.meter.settings.ciphered:
        t.skip("the settings use no ciphering (give the keys and a security policy)")
    association = t.meter.associate()
    association.open()
    return association


def _get_request(association: Association) -> bytes:
    descriptor = CosemAttributeDescriptor(1, LOGICAL_DEVICE_NAME, 2)
    return GetRequestNormal(association.next_invoke(), descriptor).encode()


def _refused(t: TestContext, association: Association, apdu: bytes, what: str) -> None:
    try:
        raw = association.exchange(apdu)
    except DlmsError:
        return  # ignored, or the connection closed: both refuse
    reply: Reply = association.unwrap(raw, lenient=True)  # data with bytes after it is still the data
    if isinstance(reply.decoded, GetResponseNormal) and reply.decoded.result.error is None:
        t.fail(f"{what} is refused", "the meter answered it with the data", got_bytes=raw)


@conformance_test(
    "security.server-counter",
    requirement=req(
        GREEN_BOOK,
        "the invocation counter of the meter's ciphered APDUs grows with every APDU "
        "and never repeats for the same key, across associations and restarts (GCM nonce = "
        "system title || IC)",
    ),
    effect="a repeated nonce under the same key leaks the XOR of the plaintexts and forges tags",
)
def server_counter(t: TestContext) -> None:
    """Two associations one after the other (AARE, HLS pass 4, RLRE): every counter of the meter larger
    than the one before."""
    seen: list[int] = []
    for _round in range(2):
        association = _ciphered(t)
        association.close()
        seen.extend(association.server_counters)
    repeated = sorted({ic for ic in seen if seen.count(ic) > 1})
    if repeated:
        t.fail(
            "every invocation counter of the meter used once",
            f"counters used twice: {repeated[:8]}",
            got_bytes=b"",
            decoded=f"counters in order of arrival: {seen}",
        )
    for before, after in itertools.pairwise(seen):
        t.check(after > before, "counters that only grow", f"{after} after {before}")


@conformance_test(
    "security.replay",
    requirement=req(GREEN_BOOK, "a ciphered request whose invocation counter was used already is refused"),
    effect="anyone who recorded a command can replay it (a disconnect, a token)",
)
def replay(t: TestContext) -> None:
    """The same ciphered GET twice."""
    association = _ciphered(t)
    apdu = association.session.protection.wrap(_get_request(association))
    first = association.unwrap(association.exchange(apdu), lenient=True)
    if first.error is not None:
        t.fail("an answer to the first request", str(first.error), got_bytes=first.raw)
    _refused(t, association, apdu, "the replayed request")


@conformance_test(
    "security.tag",
    requirement=req(GREEN_BOOK, "a ciphered request whose authentication tag does not verify is refused"),
    effect="requests altered on the way are carried out",
)
def tag(t: TestContext) -> None:
    """A ciphered GET with one bit of its tag flipped."""
    association = _ciphered(t)
    apdu = bytearray(association.session.protection.wrap(_get_request(association)))
    apdu[-1] ^= 0x01
    _refused(t, association, bytes(apdu), "a request with a wrong tag")


@conformance_test(
    "security.downgrade",
    requirement=req(
        GREEN_BOOK, "in an association whose security policy asks for protection, a plain request is refused"
    ),
    effect="anyone on the line can read without the keys once the association is open",
)
def downgrade(t: TestContext) -> None:
    """A plain GET inside a ciphered association."""
    association = _ciphered(t)
    if association.session.protection.policy == 0:
        t.skip("the security policy is none")
    _refused(t, association, _get_request(association), "a plain request")


@conformance_test(
    "security.mechanism-downgrade",
    requirement=req(
        GREEN_BOOK,
        "a client whose association needs authentication is refused when it asks "
        "for none (each client SAP has one association with its own mechanism)",
    ),
    effect="anyone can open the management association without the keys or the password",
)
def mechanism_downgrade(t: TestContext) -> None:
    """The configured client's address with no authentication and no ciphering."""
    s = t.meter.settings
    if s.authentication == "none":
        t.skip("the settings use no authentication")
    association = t.meter.associate(authentication="none", security_policy="none", password=None)
    try:
        association.open()
    except DlmsError:
        return
    t.fail(
        f"client {s.client_address} without authentication is refused",
        "the meter accepted it",
        got_bytes=association.aare,
    )
