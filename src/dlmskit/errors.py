"""The exception hierarchy of dlmskit.

Every error raised on purpose by dlmskit derives from :class:`DlmsError`, so an application can catch
one type. Decoders raise :class:`DecodeError` (never ``IndexError`` or ``struct.error``) naming the
offset in the input, what was expected there and what was found.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "AssociationError",
    "ConfigurationError",
    "DecodeError",
    "DlmsError",
    "EncodeError",
    "InvocationCounterError",
    "KeyFormatError",
    "LinkError",
    "MeterTimeout",
    "ProtocolError",
    "ReplayError",
    "SecurityError",
    "TagVerificationError",
    "TimeoutError_",
]


class DlmsError(Exception):
    """Base class of every error dlmskit raises on purpose."""


class DecodeError(DlmsError, ValueError):
    """Input bytes do not follow the expected encoding.

    ``offset`` is the byte position in the decoded buffer where the problem was found, ``expected``
    says what the decoder wanted there and ``found`` what it got (both plain words, for people).
    """

    def __init__(self, message: str, *, offset: int = 0, expected: str = "", found: str = "") -> None:
        self.offset = offset
        self.expected = expected
        self.found = found
        self.reason = message
        text = f"{message} at offset {offset}"
        if expected:
            text += f": expected {expected}"
            if found:
                text += f", found {found}"
        elif found:
            text += f": found {found}"
        super().__init__(text)

    def shifted(self, delta: int, context: str = "") -> DecodeError:
        """The same error with the offset moved by ``delta`` (for errors raised on a sub-buffer)."""
        reason = f"{context}: {self.reason}" if context else self.reason
        return DecodeError(reason, offset=self.offset + delta, expected=self.expected, found=self.found)


class EncodeError(DlmsError, ValueError):
    """A value cannot be encoded as asked (wrong Python type, out of range, too long)."""


class KeyFormatError(DlmsError, ValueError):
    """A key, system title or password given by the user has the wrong form or length."""


class ConfigurationError(DlmsError, ValueError):
    """Settings that cannot work together, or a model/profile file that is wrong."""


class ArgumentError(DlmsError, ValueError):
    """A function or method was called with an argument it cannot take: a setting of the wrong type, an
    attribute the class does not have, a clock shift out of range, a naive ``datetime``... The message
    names the argument, what it takes and what it got."""


class SecurityError(DlmsError):
    """Ciphering, authentication or key handling failed."""


class TagVerificationError(SecurityError):
    """A GCM authentication tag did not verify: wrong keys, wrong system title, or tampered data."""


class InvocationCounterError(SecurityError):
    """An invocation counter was replayed, went backwards, or is exhausted."""


class ReplayError(SecurityError):
    """A signed APDU (general-signing) was replayed, or is older than what the peer already sent."""


class ProtocolError(DlmsError):
    """The peer broke the protocol (unexpected frame or APDU for the state we are in)."""


class LinkError(ProtocolError):
    """The data link (HDLC or wrapper) failed: refused connection, frame reject, retries exhausted."""


class AssociationError(ProtocolError):
    """The application association was rejected or could not be completed."""


class MeterTimeout(DlmsError, TimeoutError):
    """No answer from the peer in time (also a built-in :class:`TimeoutError`)."""


TimeoutError_ = MeterTimeout
"""The old name of :class:`MeterTimeout`, kept for one release."""
