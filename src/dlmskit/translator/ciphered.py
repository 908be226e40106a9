"""Ciphered APDUs in a trace: their security header, their plaintext when keys are given, nonce checks.

Without keys the translator shows what every observer of the line sees: the ciphered APDU's tag, the
security control byte (suite, authentication, encryption, key set), the sender's invocation counter, the
system title of general-glo-/general-ded-ciphering and the length of the ciphertext. An APDU that is only
authenticated (security control 0x10) is readable as it is: its plaintext is shown, marked unverified.

With the block cipher key and authentication key, the plaintext is deciphered and the GCM tag verified.
The sender's system title comes from the APDU (general ciphering), from the trace (the AARQ
calling-AP-title for the client, the AARE responding-AP-title for the server) or from the user. A
dedicated key found in a deciphered InitiateRequest is used for the ded- APDUs that follow. A tag that does
not verify is a note on that APDU; the rest of the trace decodes on.

Whatever the keys, every ciphered APDU is checked against the others of the trace: the GCM nonce is the
sender's system title and invocation counter, so one sender using the same counter with the same key for
two different APDUs gives away the XOR of the two plaintexts and lets anyone forge tags. The translator
warns about such reuse and about counters that go down.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from dlmskit.apdu.common import ApduTag
from dlmskit.errors import DlmsError, TagVerificationError
from dlmskit.security.ciphering import CipheredApdu, decrypt_apdu, plain_tag_for
from dlmskit.security.ecc import SignatureError
from dlmskit.security.general import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    WrappedKey,
    decipher_general,
    verify_general,
)
from dlmskit.security.keys import SecretBytes
from dlmskit.security.suite0 import SECURITY_HEADER_LENGTH, TAG_LENGTH, GcmCipher, SecurityControl
from dlmskit.translator.tree import Node

__all__ = ["CipheringContext", "Role", "ciphered_element", "ciphered_tag_of", "sender_role"]


class Role(enum.Enum):
    """Who sends an APDU."""

    CLIENT = "client"
    SERVER = "server"


_CLIENT_TAGS = frozenset({0x01, 0x05, 0x06, 0x16, 0xC0, 0xC1, 0xC3, 0x60, 0x62, 0xD9})
_SERVER_TAGS = frozenset({0x08, 0x0C, 0x0D, 0x0E, 0x18, 0xC2, 0xC4, 0xC5, 0xC7, 0x0F, 0x61, 0x63, 0xD8, 0xDA})


def sender_role(tag: int) -> Role | None:
    """Who sends a plain APDU with this tag (requests come from the client, responses from the server)."""
    if tag in _CLIENT_TAGS:
        return Role.CLIENT
    if tag in _SERVER_TAGS:
        return Role.SERVER
    return None


_CIPHERED_ELEMENTS = {
    0x21: "glo_InitiateRequest",
    0x25: "glo_ReadRequest",
    0x26: "glo_WriteRequest",
    0x28: "glo_InitiateResponse",
    0x2C: "glo_ReadResponse",
    0x2D: "glo_WriteResponse",
    0x2E: "glo_GloConfirmedServiceError",
    0x36: "glo_UnconfirmedWriteRequest",
    0x38: "glo_InformationReportRequest",
    0xC8: "glo_GetRequest",
    0xC9: "glo_SetRequest",
    0xCA: "glo_EventNotificationRequest",
    0xCB: "glo_ActionRequest",
    0xCC: "glo_GetResponse",
    0xCD: "glo_SetResponse",
    0xCF: "glo_ActionResponse",
    0x41: "ded_InitiateRequest",
    0x45: "ded_ReadRequest",
    0x46: "ded_WriteRequest",
    0x48: "ded_InitiateResponse",
    0x4C: "ded_ReadResponse",
    0x4D: "ded_WriteResponse",
    0x4E: "ded_GloConfirmedServiceError",
    0x56: "ded_UnconfirmedWriteRequest",
    0x58: "ded_InformationReportRequest",
    0xD0: "ded_GetRequest",
    0xD1: "ded_SetRequest",
    0xD2: "ded_EventNotificationRequest",
    0xD3: "ded_ActionRequest",
    0xD4: "ded_GetResponse",
    0xD5: "ded_SetResponse",
    0xD7: "ded_ActionResponse",
    ApduTag.GENERAL_GLO_CIPHERING: "GeneralGloCiphering",
    ApduTag.GENERAL_DED_CIPHERING: "GeneralDedCiphering",
}
_CIPHERED_TAGS = {name: tag for tag, name in _CIPHERED_ELEMENTS.items()}


def ciphered_element(tag: int) -> str | None:
    """The element name of a ciphered APDU tag (``glo_GetRequest``), or None for other tags."""
    return _CIPHERED_ELEMENTS.get(tag)


def ciphered_tag_of(element: str) -> int | None:
    """The tag of a ciphered APDU element name, or None."""
    return _CIPHERED_TAGS.get(element)


def describe_security_control(control: SecurityControl) -> str:
    """``suite 0, authenticated, encrypted``: the security control byte in words."""
    words = [f"suite {control.suite_id}"]
    words += [
        word
        for word, flag in (
            ("authenticated", control.authenticated),
            ("encrypted", control.encrypted),
            ("broadcast key", control.broadcast_key),
            ("compressed", control.compressed),
        )
        if flag
    ]
    if not control.authenticated and not control.encrypted:
        words.append("neither authenticated nor encrypted")
    return ", ".join(words)


@dataclass(frozen=True, slots=True)
class _Use:
    """One use of a nonce: where, and what was protected with it."""

    line: int
    protected: bytes


DecodePlain = Callable[[bytes, Role | None], Node]
"""Turns a plain APDU (deciphered, or readable because only authenticated) into its element."""


class CipheringContext:
    """Keys, system titles and counters seen so far in one trace.

    ``keys`` is the (block cipher key, authentication key) pair of the global unicast key set, or None to
    show ciphered APDUs without deciphering. System titles given here are used as they are; those not
    given are learnt from the trace's AARQ and AARE.
    """

    def __init__(
        self,
        keys: tuple[bytes, bytes] | None = None,
        *,
        client_title: bytes | None = None,
        server_title: bytes | None = None,
        private_keys: tuple[ec.EllipticCurvePrivateKey, ...] = (),
        public_keys: tuple[ec.EllipticCurvePublicKey, ...] = (),
    ) -> None:
        self._keys = keys
        self._private_keys = private_keys
        self._public_keys = public_keys
        self._cipher = None if keys is None else GcmCipher(keys[0], keys[1])
        self._authentication_key = None if keys is None else SecretBytes(keys[1], label="authentication key")
        self._dedicated: GcmCipher | None = None
        self._given = {Role.CLIENT: client_title, Role.SERVER: server_title}
        self._titles = dict(self._given)
        self._uses: dict[tuple[str, str], dict[int, _Use]] = {}
        self._last: dict[tuple[str, str], tuple[int, int]] = {}
        self.warnings: list[str] = []
        """Nonce reuse and counters going down, in the order found."""

    @property
    def has_keys(self) -> bool:
        """True when keys were given (ciphered APDUs are deciphered)."""
        return self._cipher is not None

    def learn_title(self, role: Role, title: bytes) -> None:
        """A system title found in the trace (AARQ calling-AP-title, AARE responding-AP-title)."""
        if self._given[role] is None and title:
            self._titles[role] = bytes(title)

    def learn_dedicated_key(self, key: bytes) -> None:
        """The dedicated key of an InitiateRequest, for the ded- APDUs of the association."""
        if self._authentication_key is not None and len(key) == len(self._authentication_key):
            self._dedicated = GcmCipher(key, self._authentication_key)

    def ciphered_node(self, raw: bytes, line: int, role_hint: Role | None, decode_plain: DecodePlain) -> Node:
        """The element of the ciphered APDU ``raw``; :class:`~dlmskit.errors.DecodeError` when its envelope is malformed."""
        apdu = CipheredApdu.decode(raw)
        role = role_hint if apdu.is_general else sender_role(plain_tag_for(apdu.tag))
        body = raw[len(raw) - len(apdu.ciphertext_and_tag) - SECURITY_HEADER_LENGTH :]
        name = _CIPHERED_ELEMENTS[apdu.tag]
        if apdu.is_general:
            title = apdu.system_title or b""
            node = Node(
                name,
                children=[
                    Node.leaf("SystemTitle", title.hex().upper(), _title_comment(title)),
                    Node.leaf("CipheredService", body.hex().upper(), self._header_comment(apdu)),
                ],
            )
        else:
            node = Node(name, {"Value": body.hex().upper()}, self._header_comment(apdu))
        self._check_nonce(apdu, role, line)
        plain = self._plaintext(apdu, role, node)
        if plain is not None:
            plain_role = role if role is not None else sender_role(plain[0]) if plain else None
            node.add(_with_comment(decode_plain(plain, plain_role), self._plain_comment(apdu)))
        return node

    def _header_comment(self, apdu: CipheredApdu) -> str:
        control = apdu.security_control
        size = len(apdu.ciphertext_and_tag)
        if control.authenticated:
            size -= TAG_LENGTH
            content = f"{'ciphertext' if control.encrypted else 'plaintext'} {max(size, 0)} bytes + tag {TAG_LENGTH}"
        else:
            content = f"ciphertext {size} bytes, no tag"
        key = "dedicated key" if apdu.is_dedicated else "global key"
        return (
            f"security control {control.value:02X}: {describe_security_control(control)}; {key}; "
            f"invocation counter {apdu.invocation_counter} ({apdu.invocation_counter:08X}); {content}"
        )

    def _plain_comment(self, apdu: CipheredApdu) -> str:
        control = apdu.security_control
        if not self.has_keys:
            return "authenticated only: readable without keys; the tag is not verified (no keys given)"
        if control.authenticated:
            return "deciphered with the given keys; the authentication tag verifies"
        return "deciphered with the given keys (no authentication tag to verify)"

    def _plaintext(self, apdu: CipheredApdu, role: Role | None, node: Node) -> bytes | None:
        control = apdu.security_control
        if self._cipher is None:
            if control.authenticated and not control.encrypted and len(apdu.ciphertext_and_tag) > TAG_LENGTH:
                return apdu.ciphertext_and_tag[:-TAG_LENGTH]
            return None
        cipher = self._dedicated if apdu.is_dedicated else self._cipher
        if cipher is None:
            node.notes.append("cannot decipher: no dedicated key known (it travels in a deciphered AARQ)")
            return None
        title = apdu.system_title or (self._titles.get(role) if role is not None else None)
        if not title:
            who = role.value if role is not None else "sender"
            option = "--server-title" if role is Role.SERVER else "--client-title"
            node.notes.append(
                f"cannot decipher: the {who} system title is unknown (no AARQ/AARE with it in the trace); "
                f"give it with {option}"
            )
            return None
        try:
            return decrypt_apdu(apdu, system_title=title, keys=cipher).plain
        except TagVerificationError as exc:
            node.notes.append(f"tag does not verify: {exc}")
        except DlmsError as exc:
            node.notes.append(f"cannot decipher: {exc}")
        return None

    def _check_nonce(self, apdu: CipheredApdu, role: Role | None, line: int) -> None:
        if apdu.system_title:
            sender = f"system title {apdu.system_title.hex().upper()}"
        else:
            sender = role.value if role is not None else "unknown sender"
        key = (
            "dedicated"
            if apdu.is_dedicated
            else "broadcast"
            if apdu.security_control.broadcast_key
            else "global"
        )
        stream = (sender, key)
        counter = apdu.invocation_counter
        uses = self._uses.setdefault(stream, {})
        earlier = uses.get(counter)
        if earlier is None:
            uses[counter] = _Use(line, apdu.ciphertext_and_tag)
        elif earlier.protected != apdu.ciphertext_and_tag:
            self.warnings.append(
                f"nonce reuse: the {sender} used invocation counter {counter} with the {key} key for two "
                f"different ciphered APDUs (lines {earlier.line} and {line}); the AES-GCM nonce repeats, which "
                "leaks the XOR of the two plaintexts and allows forged tags: a client must never reuse a "
                "counter, and a meter must refuse it"
            )
        last = self._last.get(stream)
        if last is not None and counter < last[0]:
            self.warnings.append(
                f"invocation counter went down: the {sender} ({key} key) used {last[0]} on line {last[1]}, "
                f"then {counter} on line {line}; a meter must refuse counters that do not increase"
            )
        self._last[stream] = (counter, line)

    # -- suites 1 and 2: general-signing and general-ciphering -------------------------------------------

    def signed_node(self, raw: bytes, role: Role | None, decode_any: DecodePlain) -> Node:
        """The element of a general-signing APDU: its header, its content decoded, the signature checked
        against the public keys given (``--public-key``)."""
        apdu = GeneralSigning.decode(raw)
        node = Node("GeneralSigning", children=_general_header(apdu))
        node.add(_with_comment(decode_any(apdu.content, role), "the signed content"))
        node.add(Node.leaf("Signature", apdu.signature.hex().upper(), self._signature_comment(raw, apdu)))
        return node

    def _signature_comment(self, raw: bytes, apdu: GeneralSigning) -> str:
        if not self._public_keys:
            return f"ECDSA r || s, {len(apdu.signature)} bytes; not verified (no public key given)"
        for key in self._public_keys:
            suite = 1 if key.curve.name == "secp256r1" else 2
            try:
                verify_general(apdu, suite=suite, public_key=key)
            except (SignatureError, DlmsError):
                continue
            return f"ECDSA ({key.curve.name}) signature verifies with a given public key"
        return "the signature does NOT verify with any given public key: wrong key, or tampered APDU"

    def agreed_node(self, raw: bytes, role: Role | None, decode_plain: DecodePlain) -> Node:
        """The element of a general-ciphering APDU; deciphered when the private keys given (``--private-key``)
        and public keys (``--public-key``) let the agreed key be found again."""
        apdu = GeneralCiphering.decode(raw)
        node = Node("GeneralCiphering", children=_general_header(apdu))
        node.add(_key_info_node(apdu))
        control = apdu.security_control
        node.add(
            Node.leaf(
                "CipheredContent",
                apdu.ciphered_content.hex().upper(),
                f"security control {control.value:02X}: {describe_security_control(control)}; "
                f"invocation counter {apdu.invocation_counter} ({apdu.invocation_counter:08X})",
            )
        )
        plain = self._agreed_plaintext(apdu, node)
        if plain is not None:
            plain_role = role if role is not None else sender_role(plain[0]) if plain else None
            node.add(
                _with_comment(decode_plain(plain, plain_role), "deciphered; the authentication tag verifies")
            )
        return node

    def _agreed_plaintext(self, apdu: GeneralCiphering, node: Node) -> bytes | None:
        info = apdu.key_info
        suite = apdu.security_control.suite_id
        ak = self._keys[1] if self._keys is not None else b""
        attempts: list[dict[str, object]] = []
        if info is None or isinstance(info, IdentifiedKey):
            if self._keys is not None:
                attempts.append({"key": self._keys[0]})
        elif isinstance(info, WrappedKey):
            node.notes.append(
                "wrapped key: give the master key to unwrap it (not supported by the translator)"
            )
            return None
        elif isinstance(info, AgreedKey):
            try:
                scheme = info.scheme
            except DlmsError as exc:
                node.notes.append(f"cannot decipher: {exc}")
                return None
            for private in self._private_keys:
                if scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN:
                    attempts.append({"own_private_key": private})
                else:
                    attempts += [
                        {"own_private_key": private, "peer_public_key": public}
                        for public in self._public_keys
                    ]
        if not attempts:
            node.notes.append(
                "not deciphered: give the recipient's private key (--private-key) and, for the Static Unified "
                "Model, the other party's public key (--public-key)"
            )
            return None
        for attempt in attempts:
            try:
                return decipher_general(apdu, suite=suite, authentication_key=ak, **attempt)[1]  # type: ignore[arg-type]
            except DlmsError:
                continue
        node.notes.append(
            "cannot decipher: no given key verifies the authentication tag (the authentication key, "
            "--auth-key, is part of it too)"
        )
        return None


def _general_header(apdu: GeneralSigning | GeneralCiphering) -> list[Node]:
    return [
        Node.leaf("TransactionId", apdu.transaction_id.hex().upper()),
        Node.leaf(
            "OriginatorSystemTitle",
            apdu.originator_system_title.hex().upper(),
            _title_comment(apdu.originator_system_title),
        ),
        Node.leaf(
            "RecipientSystemTitle",
            apdu.recipient_system_title.hex().upper(),
            _title_comment(apdu.recipient_system_title),
        ),
        Node.leaf("DateTime", apdu.date_time.hex().upper()),
        Node.leaf("OtherInformation", apdu.other_information.hex().upper()),
    ]


def _key_info_node(apdu: GeneralCiphering) -> Node:
    info = apdu.key_info
    if info is None:
        return Node.leaf("KeyInfo", "", "absent: the global key")
    if isinstance(info, IdentifiedKey):
        return Node.leaf(
            "IdentifiedKey", str(info.key_id), "0 global unicast, 1 global broadcast encryption key"
        )
    if isinstance(info, WrappedKey):
        return Node.leaf(
            "WrappedKey", info.key_ciphered_data.hex().upper(), f"kek-id {info.kek_id} (master key)"
        )
    scheme = {1: "One-Pass Diffie-Hellman C(1e, 1s)", 2: "Static Unified Model C(0e, 2s)"}.get(
        info.key_parameters[0] if len(info.key_parameters) == 1 else -1, "unknown scheme"
    )
    return Node(
        "AgreedKey",
        children=[
            Node.leaf("KeyParameters", info.key_parameters.hex().upper(), scheme),
            Node.leaf(
                "KeyCipheredData",
                info.key_ciphered_data.hex().upper(),
                "the sender's ephemeral public key X || Y" if info.key_ciphered_data else None,
            ),
        ],
    )


def _title_comment(title: bytes) -> str | None:
    if len(title) == 8 and all(0x41 <= byte <= 0x5A for byte in title[:3]):
        return f"manufacturer {title[:3].decode('ascii')}, serial part {title[3:].hex().upper()}"
    return None


def _with_comment(node: Node, comment: str) -> Node:
    node.comment = comment if node.comment is None else f"{comment}; {node.comment}"
    return node
