"""Short-name (SN) services of an established association, sans-I/O: read, write, unconfirmed write and
information report, with the block transfer of long read answers.

:class:`ShortNameClient` builds the client's READ/WRITE requests (by variable name, see
:mod:`dlmskit.cosem.short_names` for the names of attributes and methods) and digests the server's
answers; :class:`ShortNameServer` answers them through two callbacks, one for reads and one for writes.
Both only take and return bytes, ciphered with an :class:`~dlmskit.session.protection.ApduProtection`
when one is given (the SN APDUs have their own glo-/ded- tags: glo-read-request 25 ... ded-read-request
45).

Block transfer of a long answer: the server cuts the answer into ReadResponse data-block-results; the
client asks for each next block with a ReadRequest block-number-access carrying the number of the last
block it received (as the gurux-dlms stack does, and as get-request-next does in LN). For a read of one
variable the joined raw data is the A-XDR encoding of the value (as in LN DataBlock-G); for a read of
several, the encoding of the whole list of results (the ReadResponse without its tag).

Block transfer of a long request (when the association agreed to block transfer with set-or-write, or
get-or-read): the request without its tag (the list of variable access specifications, and for a write the
list of data) is cut into blocks numbered from 1; a WriteRequest carries each in a write-data-block-access
with the block as its one octet-string datum, a ReadRequest in a read-data-block-access. The server
acknowledges every block but the last with the block number (WriteResponse / ReadResponse choice
block-number) and answers the joined request after the last. (The layout the gurux-dlms stack uses:
``GXDLMS.appendMultipleSNBlocks``, ``GXDLMSSNCommandHandler.handleReadDataBlockAccess``.) Without that
conformance, the client refuses a request longer than the meter takes with a
:class:`~dlmskit.errors.ProtocolError`; the server answers block requests it does not expect with a
data-access-error.

:class:`~dlmskit.session.client.ClientSession` and :class:`~dlmskit.session.server.ServerSession` use these
classes in a short-name association (the association itself, the SN application context and HLS pass 3
over SN are theirs; docs/short-names.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dlmskit.apdu.common import encode_data
from dlmskit.apdu.conformance import Conformance
from dlmskit.apdu.exception import ConfirmedServiceError, ExceptionResponse
from dlmskit.apdu.notification import DataNotification, EventNotificationRequest
from dlmskit.apdu.parse import decode_apdu
from dlmskit.apdu.results import (
    ConfirmedServiceErrorChoice,
    ConfirmedServiceErrorService,
    DataAccessResult,
    ServiceError,
    ServiceErrorDetail,
    StateError,
)
from dlmskit.apdu.sn import (
    BlockNumberAccess,
    DataBlockResult,
    InformationReportRequest,
    ParameterizedAccess,
    ReadDataBlockAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    UnconfirmedWriteRequest,
    VariableAccessSpecification,
    VariableName,
    WriteDataBlockAccess,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from dlmskit.codec import axdr
from dlmskit.errors import DecodeError, ProtocolError
from dlmskit.security.ciphering import CipheringKind
from dlmskit.session.errors import ConfirmedServiceErrorReceived, ExceptionResponseReceived
from dlmskit.session.events import Notification, SendApdu
from dlmskit.session.protection import CIPHERING_OVERHEAD, ApduProtection

__all__ = [
    "ReadCompleted",
    "ReadHandler",
    "ShortNameClient",
    "ShortNameEvent",
    "ShortNameServer",
    "WriteCompleted",
    "WriteHandler",
]

_BLOCK_HEADER = 1 + 1 + 1 + 1 + 2 + 5
"""ReadResponse tag, count, choice data-block-result, last-block, block-number, raw-data length (max)."""
_REQUEST_BLOCK_HEADER = 1 + 1 + 1 + 1 + 2 + 1 + 1 + 5
"""Request tag, count, choice, last-block, block-number, (write: data count, octet-string tag), length."""
MAX_REQUEST_BLOCKS_SIZE = 0x40000
"""The longest request a :class:`ShortNameServer` joins from blocks (256 KiB)."""


@dataclass(frozen=True, slots=True)
class ReadCompleted:
    """The results of a READ, one per requested variable (a block transfer already reassembled)."""

    results: tuple[ReadResult, ...]
    blocks: int = 0


@dataclass(frozen=True, slots=True)
class WriteCompleted:
    """The results of a WRITE, one per written variable."""

    results: tuple[WriteResult, ...]


ShortNameEvent = SendApdu | Notification | ReadCompleted | WriteCompleted
"""What :meth:`ShortNameClient.receive` returns."""


def _variables(
    variables: Sequence[VariableAccessSpecification | int],
) -> tuple[VariableAccessSpecification, ...]:
    return tuple(VariableName(v) if isinstance(v, int) else v for v in variables)


@dataclass
class _PendingRead:
    count: int
    blocks: int = 0
    raw: bytearray = field(default_factory=bytearray)


class ShortNameClient:
    """The client side of the SN services, one request outstanding at a time.

    ``conformance`` is what the association negotiated (None: not checked); ``max_send`` the server's
    max-receive-pdu-size (0 or 65535: no limit).
    """

    def __init__(
        self,
        *,
        protection: ApduProtection | None = None,
        conformance: Conformance | None = None,
        max_send: int = 0xFFFF,
    ) -> None:
        self.protection = protection
        self.conformance = conformance
        self.max_send = max_send or 0xFFFF
        self._read: _PendingRead | None = None
        self._write: int | None = None
        self._outgoing: list[bytes] = []
        self._outgoing_kind = 0
        self._sent_blocks = 0

    @property
    def pending(self) -> bool:
        """True while a request waits for its answer."""
        return self._read is not None or self._write is not None

    def _too_long(self, apdu: bytes) -> bool:
        overhead = CIPHERING_OVERHEAD if self.protection is not None and self.protection.ciphering else 0
        return len(apdu) + overhead > self.max_send

    def _start_blocks(self, apdu: bytes, flag: Conformance) -> bytes | None:
        """The first block of a request too long for one APDU (None: not allowed, send it whole)."""
        if self.conformance is None or not self.conformance & flag:
            return None
        overhead = CIPHERING_OVERHEAD if self.protection is not None and self.protection.ciphering else 0
        size = self.max_send - overhead - _REQUEST_BLOCK_HEADER
        if size < 1:
            return None
        body = apdu[1:]
        self._outgoing = [body[start : start + size] for start in range(0, len(body), size)]
        self._outgoing_kind = apdu[0]
        self._sent_blocks = 0
        return self._next_request_block()

    def _next_request_block(self) -> bytes:
        chunk = self._outgoing[self._sent_blocks]
        self._sent_blocks += 1
        last = self._sent_blocks == len(self._outgoing)
        if self._outgoing_kind == WriteRequest.TAG:
            block: bytes = WriteRequest(
                (WriteDataBlockAccess(last, self._sent_blocks),), (axdr.OctetString(chunk),)
            ).encode()
        else:
            block = ReadRequest((ReadDataBlockAccess(last, self._sent_blocks, chunk),)).encode()
        if last:
            self._outgoing = []
        return block if self.protection is None else self.protection.wrap(block)

    def _need(self, flag: Conformance, what: str) -> None:
        if self.conformance is not None and not self.conformance & flag:
            granted = ", ".join(self.conformance.names()) or "no service at all"
            raise ProtocolError(
                f"the meter did not agree to {flag.names()[0]} in this association ({what}); it granted "
                f"{granted} (conformance {self.conformance.encode().hex(' ').upper()})"
            )

    def _send(self, apdu: bytes) -> bytes:
        overhead = CIPHERING_OVERHEAD if self.protection is not None and self.protection.ciphering else 0
        if len(apdu) + overhead > self.max_send:
            raise ProtocolError(
                f"the request is {len(apdu)} bytes, more than the meter takes ({self.max_send}); "
                "short-name requests are not sent in blocks: split it"
            )
        return apdu if self.protection is None else self.protection.wrap(apdu)

    def _start(self, what: str) -> None:
        if self.pending:
            raise ProtocolError(f"a request is still waiting for its answer ({what} not sent)")

    def _check_accesses(self, variables: tuple[VariableAccessSpecification, ...], what: str) -> None:
        if len(variables) > 1:
            self._need(Conformance.MULTIPLE_REFERENCES, what)
        for variable in variables:
            if isinstance(variable, ParameterizedAccess):
                self._need(Conformance.PARAMETERIZED_ACCESS, what)
            elif isinstance(variable, (BlockNumberAccess, ReadDataBlockAccess, WriteDataBlockAccess)):
                raise ProtocolError(f"{type(variable).__name__} is the session's own business, not a request")

    def read(self, variables: Sequence[VariableAccessSpecification | int]) -> bytes:
        """The ReadRequest for ``variables`` (variable names, or parameterized accesses)."""
        self._start("read")
        accesses = _variables(variables)
        if not accesses:
            raise ProtocolError("a read needs at least one variable")
        self._need(Conformance.READ, "read")
        self._check_accesses(accesses, "read")
        plain = ReadRequest(accesses).encode()
        first = (
            self._start_blocks(plain, Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ)
            if self._too_long(plain)
            else None
        )
        apdu = first if first is not None else self._send(plain)
        self._read = _PendingRead(len(accesses))
        return apdu

    def write(
        self, variables: Sequence[VariableAccessSpecification | int], values: Sequence[axdr.Data]
    ) -> bytes:
        """The WriteRequest writing ``values[i]`` to ``variables[i]`` (also how SN methods are called that
        return nothing: the method's variable name and its parameter)."""
        self._start("write")
        accesses = _variables(variables)
        if not accesses or len(accesses) != len(values):
            raise ProtocolError(f"a write needs one value per variable ({len(accesses)} and {len(values)})")
        self._need(Conformance.WRITE, "write")
        self._check_accesses(accesses, "write")
        plain = WriteRequest(accesses, tuple(values)).encode()
        first = (
            self._start_blocks(plain, Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE)
            if self._too_long(plain)
            else None
        )
        apdu = first if first is not None else self._send(plain)
        self._write = len(accesses)
        return apdu

    def unconfirmed_write(
        self, variables: Sequence[VariableAccessSpecification | int], values: Sequence[axdr.Data]
    ) -> bytes:
        """An UnconfirmedWriteRequest: nothing comes back."""
        accesses = _variables(variables)
        if not accesses or len(accesses) != len(values):
            raise ProtocolError(f"a write needs one value per variable ({len(accesses)} and {len(values)})")
        self._need(Conformance.UNCONFIRMED_WRITE, "unconfirmed write")
        self._check_accesses(accesses, "unconfirmed write")
        return self._send(UnconfirmedWriteRequest(accesses, tuple(values)).encode())

    def abandon(self) -> None:
        """Forget the outstanding request (after a timeout or a lost link)."""
        self._read = None
        self._write = None
        self._outgoing = []

    # -- answers ------------------------------------------------------------------------------------------

    def receive(self, data: bytes) -> ShortNameEvent:
        """Digest one APDU from the server."""
        plain = data if self.protection is None else self.protection.unwrap(data)[0]
        apdu = decode_apdu(plain)
        if isinstance(apdu, (InformationReportRequest, DataNotification, EventNotificationRequest)):
            return Notification(apdu)
        if isinstance(apdu, ExceptionResponse):
            self.abandon()
            raise ExceptionResponseReceived(apdu, "short-name request")
        if isinstance(apdu, ConfirmedServiceError):
            self.abandon()
            raise ConfirmedServiceErrorReceived(apdu, "short-name request")
        acknowledged = self._acknowledged(apdu)
        if acknowledged is not None:
            if not self._outgoing or acknowledged != self._sent_blocks:
                sent = self._sent_blocks
                self.abandon()
                raise ProtocolError(
                    f"the meter acknowledged request block {acknowledged}, we sent block {sent}"
                )
            return SendApdu(self._next_request_block(), blocks=self._sent_blocks)
        if self._outgoing:
            self.abandon()
            raise ProtocolError(
                f"the meter answered request block {self._sent_blocks} without acknowledging it"
            )
        if isinstance(apdu, ReadResponse) and self._read is not None:
            return self._on_read(apdu, self._read)
        if isinstance(apdu, WriteResponse) and self._write is not None:
            count = self._write
            self._write = None
            if len(apdu.results) != count:
                raise ProtocolError(
                    f"the meter answered {len(apdu.results)} write results for {count} variables"
                )
            return WriteCompleted(apdu.results)
        self.abandon()
        raise ProtocolError(f"unexpected {type(apdu).__name__} from the meter")

    @staticmethod
    def _acknowledged(apdu: object) -> int | None:
        """The block number a ReadResponse/WriteResponse acknowledges (a request block), or None."""
        if isinstance(apdu, (ReadResponse, WriteResponse)) and len(apdu.results) == 1:
            return apdu.results[0].block_number
        return None

    def _on_read(self, apdu: ReadResponse, pending: _PendingRead) -> ShortNameEvent:
        block = apdu.results[0].block if len(apdu.results) == 1 else None
        if block is None:
            self._read = None
            if pending.blocks == 0 and len(apdu.results) != pending.count:
                raise ProtocolError(
                    f"the meter answered {len(apdu.results)} read results for {pending.count} variables"
                )
            return ReadCompleted(apdu.results, pending.blocks)
        expected = pending.blocks + 1
        if block.block_number != expected:
            self._read = None
            raise ProtocolError(f"the meter sent block {block.block_number}, expected block {expected}")
        pending.blocks = expected
        pending.raw += block.raw_data
        if not block.last_block:
            return SendApdu(
                self._send(ReadRequest((BlockNumberAccess(block.block_number),)).encode()),
                blocks=pending.blocks,
                received_bytes=len(pending.raw),
            )
        self._read = None
        raw = bytes(pending.raw)
        try:
            if pending.count == 1:
                return ReadCompleted((ReadResult(axdr.decode(raw)),), pending.blocks)
            results = ReadResponse.decode(bytes((ReadResponse.TAG,)) + raw).results
        except DecodeError as exc:
            raise exc.shifted(0, "joined read blocks") from None
        if len(results) != pending.count:
            raise ProtocolError(
                f"the meter answered {len(results)} read results for {pending.count} variables"
            )
        return ReadCompleted(results, pending.blocks)


# --------------------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------------------

ReadHandler = Callable[[VariableAccessSpecification], ReadResult]
"""Reads one variable (a VariableName or a ParameterizedAccess): its value, or the error."""
WriteHandler = Callable[[VariableAccessSpecification, axdr.Data], WriteResult]
"""Writes one variable (or calls the method it names with the value as parameter)."""


class ShortNameServer:
    """The server side of the SN services: answers READ and WRITE through ``read`` and ``write``.

    ``conformance`` is what the association negotiated; requests for services outside it get a
    confirmed-service-error. ``max_send`` is the client's max-receive-pdu-size: longer answers go out in
    data-block-results.
    """

    def __init__(
        self,
        read: ReadHandler,
        write: WriteHandler,
        *,
        protection: ApduProtection | None = None,
        conformance: Conformance | None = None,
        max_send: int = 0xFFFF,
    ) -> None:
        self._read_handler = read
        self._write_handler = write
        self.protection = protection
        self.conformance = Conformance.default_sn_client() if conformance is None else conformance
        self.max_send = max_send or 0xFFFF
        self._blocks: list[bytes] = []
        self._sent = 0
        self._incoming = bytearray()
        self._incoming_blocks = 0

    def _wrap(self, apdu: bytes, kind: CipheringKind | None) -> bytes:
        if self.protection is None:
            return apdu
        return self.protection.wrap(apdu, kind=kind)

    @property
    def _room(self) -> int:
        overhead = CIPHERING_OVERHEAD if self.protection is not None and self.protection.ciphering else 0
        return self.max_send - overhead

    def receive(self, data: bytes) -> bytes | None:
        """The answer to one APDU from the client (None for an unconfirmed write)."""
        plain, kind = (data, None) if self.protection is None else self.protection.unwrap(data)
        try:
            apdu = decode_apdu(plain)
        except DecodeError:
            return self._wrap(
                ExceptionResponse(StateError.SERVICE_UNKNOWN, ServiceError.OTHER_REASON).encode(), kind
            )
        answer: bytes | None
        if isinstance(apdu, (ReadRequest, WriteRequest)) and len(apdu.variables) == 1:
            block = apdu.variables[0]
            if isinstance(block, (ReadDataBlockAccess, WriteDataBlockAccess)):
                joined = self._on_request_block(apdu)
                if isinstance(joined, bytes):
                    return self._wrap(joined, kind)
                apdu = joined
        if isinstance(apdu, ReadRequest):
            answer = self._on_read(apdu)
        elif isinstance(apdu, WriteRequest):
            answer = self._on_write(apdu.variables, apdu.values, ConfirmedServiceErrorService.WRITE)
        elif isinstance(apdu, UnconfirmedWriteRequest):
            if self.conformance & Conformance.UNCONFIRMED_WRITE and len(apdu.variables) == len(apdu.values):
                for variable, value in zip(apdu.variables, apdu.values, strict=True):
                    self._write_handler(variable, value)
            return None
        else:
            answer = ExceptionResponse(
                StateError.SERVICE_NOT_ALLOWED, ServiceError.SERVICE_NOT_SUPPORTED
            ).encode()
        return None if answer is None else self._wrap(answer, kind)

    def information_report(
        self,
        variables: Sequence[VariableAccessSpecification | int],
        values: Sequence[axdr.Data],
        current_time: bytes | None = None,
    ) -> bytes:
        """An InformationReportRequest (the SN push), ciphered as the protection says."""
        apdu = InformationReportRequest(_variables(variables), tuple(values), current_time).encode()
        return apdu if self.protection is None else self.protection.wrap(apdu)

    def _on_request_block(self, apdu: ReadRequest | WriteRequest) -> bytes | ReadRequest | WriteRequest:
        """One block of a long request: the acknowledgement, an error, or the joined request after the last."""
        write = isinstance(apdu, WriteRequest)
        block = apdu.variables[0]

        def error(code: DataAccessResult) -> bytes:
            self._incoming = bytearray()
            self._incoming_blocks = 0
            if write:
                return WriteResponse((WriteResult(error=code),)).encode()
            return ReadResponse((ReadResult(error=code),)).encode()

        flag = (
            Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
            if write
            else Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        )
        if not self.conformance & flag:
            return error(DataAccessResult.OTHER_REASON)
        if isinstance(block, WriteDataBlockAccess) and isinstance(apdu, WriteRequest):
            if len(apdu.values) != 1 or not isinstance(apdu.values[0], bytes):
                return error(DataAccessResult.DATA_BLOCK_UNAVAILABLE)
            raw, last, number = bytes(apdu.values[0]), block.last_block, block.block_number
        elif isinstance(block, ReadDataBlockAccess) and not write:
            raw, last, number = block.raw_data, block.last_block, block.block_number
        else:
            return error(DataAccessResult.DATA_BLOCK_UNAVAILABLE)
        if number != self._incoming_blocks + 1:
            return error(DataAccessResult.DATA_BLOCK_NUMBER_INVALID)
        if len(self._incoming) + len(raw) > MAX_REQUEST_BLOCKS_SIZE:
            return error(DataAccessResult.OTHER_REASON)
        self._incoming += raw
        self._incoming_blocks = number
        if not last:
            if write:
                return WriteResponse((WriteResult(block_number=number),)).encode()
            return ReadResponse((ReadResult(block_number=number),)).encode()
        joined = bytes(self._incoming)
        self._incoming = bytearray()
        self._incoming_blocks = 0
        try:
            if write:
                return WriteRequest.decode(bytes((WriteRequest.TAG,)) + joined)
            return ReadRequest.decode(bytes((ReadRequest.TAG,)) + joined)
        except DecodeError:
            return error(DataAccessResult.DATA_BLOCK_UNAVAILABLE)

    @staticmethod
    def _unsupported(service: ConfirmedServiceErrorService) -> bytes:
        return ConfirmedServiceError(
            service, ConfirmedServiceErrorChoice.SERVICE, ServiceErrorDetail.SERVICE_UNSUPPORTED
        ).encode()

    def _allowed(self, variables: tuple[VariableAccessSpecification, ...], flag: Conformance) -> bool:
        if not self.conformance & flag or not variables:
            return False
        if len(variables) > 1 and not self.conformance & Conformance.MULTIPLE_REFERENCES:
            return False
        for variable in variables:
            if isinstance(variable, ParameterizedAccess):
                if not self.conformance & Conformance.PARAMETERIZED_ACCESS:
                    return False
            elif not isinstance(variable, VariableName):
                return False
        return True

    def _on_read(self, apdu: ReadRequest) -> bytes:
        if len(apdu.variables) == 1 and isinstance(apdu.variables[0], BlockNumberAccess):
            return self._next_block(apdu.variables[0].block_number)
        self._blocks = []
        if not self._allowed(apdu.variables, Conformance.READ):
            return self._unsupported(ConfirmedServiceErrorService.READ)
        results = tuple(self._read_handler(variable) for variable in apdu.variables)
        answer = ReadResponse(results).encode()
        if len(answer) <= self._room:
            return answer
        if not self.conformance & Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ:
            return ReadResponse(
                tuple(ReadResult(error=DataAccessResult.OTHER_REASON) for _ in results)
            ).encode()
        raw = encode_data(results[0].value) if len(results) == 1 else answer[1:]
        size = self._room - _BLOCK_HEADER
        if size < 1:
            return ReadResponse((ReadResult(error=DataAccessResult.OTHER_REASON),)).encode()
        self._blocks = [raw[start : start + size] for start in range(0, len(raw), size)]
        self._sent = 0
        return self._next_block(0)

    def _next_block(self, acknowledged: int) -> bytes:
        if not self._blocks or acknowledged != self._sent or self._sent >= len(self._blocks):
            self._blocks = []
            return ReadResponse((ReadResult(error=DataAccessResult.DATA_BLOCK_NUMBER_INVALID),)).encode()
        chunk = self._blocks[self._sent]
        self._sent += 1
        last = self._sent == len(self._blocks)
        block = DataBlockResult(last, self._sent, chunk)
        if last:
            self._blocks = []
        return ReadResponse((ReadResult(block=block),)).encode()

    def _on_write(
        self,
        variables: tuple[VariableAccessSpecification, ...],
        values: tuple[axdr.Data, ...],
        service: ConfirmedServiceErrorService,
    ) -> bytes:
        self._blocks = []
        if not self._allowed(variables, Conformance.WRITE) or len(variables) != len(values):
            return self._unsupported(service)
        results = tuple(self._write_handler(v, value) for v, value in zip(variables, values, strict=True))
        return WriteResponse(results).encode()
