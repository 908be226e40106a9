"""The conformance test framework: tests, their requirements, results and the registry that holds them.

A conformance test is a function of one argument, a :class:`TestContext`, registered with
:func:`conformance_test`. It names the requirement it checks, its group and whether it only reads or also
writes. It passes by returning; it fails by calling :meth:`TestContext.fail` (stop here) or
:meth:`TestContext.finding` (note it and carry on, for tests that check many objects); it skips with
:meth:`TestContext.skip`. Any other exception is an *error* of the test run, not a finding about the meter::

    from dlmskit.conformance import Requirement, Safety, TestContext, conformance_test

    @conformance_test(
        "vendor.serial-number-format",
        group="vendor",
        requirement=Requirement("ACME meter specification 2.1", "section 4.2", "the serial number is 8 digits"),
        effect="the head-end cannot match the meter to its record",
    )
    def serial_number_is_eight_digits(t: TestContext) -> None:
        with t.meter.associate() as association:
            value = association.get(1, "0.0.96.1.0.255", 2)
        if len(value.value) != 8:
            t.fail("the serial number has 8 digits", got=value.value, got_bytes=value.raw)
"""

from __future__ import annotations

import enum
import fnmatch
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from dlmskit.errors import DlmsError

if TYPE_CHECKING:
    from dlmskit.conformance.probe import MeterUnderTest, Transcript

__all__ = [
    "GROUPS",
    "REGISTRY",
    "ConformanceTest",
    "Finding",
    "Outcome",
    "Registry",
    "Requirement",
    "Safety",
    "TestContext",
    "TestResult",
    "TestSkipped",
    "conformance_test",
]

GROUPS = ("hdlc", "wrapper", "association", "services", "security", "cosem")
"""The built-in groups, in the order they run (a vendor's own groups run after them)."""


class Safety(enum.Enum):
    """What a test may do to the meter."""

    READ_ONLY = "read-only"
    """Reads only (frames, association, GET): runs by default."""
    WRITES = "writes"
    """Writes attributes or calls methods (and restores what it changed): runs only with ``--allow-writes``."""


class Outcome(enum.Enum):
    """How a test ended."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    """The test could not run to its verdict (no connection, a bug in the test): says nothing of the meter."""
    XFAIL = "xfail"
    """Failed, as expected for a known reason (``xfail=`` of the test)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a test checks and where that is written: ``source`` (a standard or a public document),
    ``clause`` when known for sure (else empty) and ``text``, the requirement in words."""

    source: str
    clause: str
    text: str

    def __str__(self) -> str:
        where = f"{self.source} {self.clause}".strip()
        return f"{where}: {self.text}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One departure from the requirement: what was expected, what came back (in words, and the bytes on
    the wire with their decoding) and what it does to clients."""

    expected: str
    got: str
    got_bytes: bytes = b""
    decoded: str = ""
    effect: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "got": self.got,
            "got_bytes": self.got_bytes.hex().upper(),
            "decoded": self.decoded,
            "effect": self.effect,
        }


class TestFailed(Exception):
    """Raised by :meth:`TestContext.fail`."""

    __test__ = False  # not a pytest test class

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.expected)
        self.finding = finding


class TestSkipped(Exception):
    """Raised by :meth:`TestContext.skip`; the argument says why."""

    __test__ = False  # not a pytest test class


TestFunction = Callable[["TestContext"], None]


@dataclass(frozen=True)
class ConformanceTest:
    """A registered test: ``id`` (``group.name``), ``group``, the :class:`Requirement`, the
    :class:`Safety` level, ``effect`` (what a failure does to clients, the default for its findings),
    ``function`` and ``xfail`` (a known reason it fails today, e.g. an issue number; a failure is then
    reported as ``xfail``, a pass as a pass)."""

    id: str
    group: str
    requirement: Requirement
    safety: Safety
    function: TestFunction
    effect: str = ""
    title: str = ""
    xfail: str = ""

    @property
    def description(self) -> str:
        """The first line of the function's docstring, or the title."""
        doc = (self.function.__doc__ or "").strip().splitlines()
        return self.title or (doc[0] if doc else self.id)


@dataclass
class TestResult:
    """The result of one test: its outcome, the findings of a failure, why it was skipped or what went
    wrong (``message``), and the transcript of the bytes exchanged (with their decoding)."""

    __test__ = False  # not a pytest test class

    test: ConformanceTest
    outcome: Outcome
    message: str = ""
    findings: list[Finding] = field(default_factory=list)
    transcript: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        t = self.test
        return {
            "id": t.id,
            "group": t.group,
            "title": t.description,
            "requirement": {
                "source": t.requirement.source,
                "clause": t.requirement.clause,
                "text": t.requirement.text,
            },
            "safety": t.safety.value,
            "outcome": self.outcome.value,
            "message": self.message,
            "xfail": t.xfail,
            "findings": [f.to_dict() for f in self.findings],
            "transcript": self.transcript,
        }


class TestContext:
    """What a test gets: the meter under test (:attr:`meter`), and the ways to fail, note or skip."""

    __test__ = False  # not a pytest test class

    def __init__(self, test: ConformanceTest, meter: MeterUnderTest, transcript: Transcript) -> None:
        self.test = test
        self.meter = meter
        self.transcript = transcript
        self.findings: list[Finding] = []

    def finding(
        self,
        expected: str,
        got: str,
        *,
        got_bytes: bytes = b"",
        decoded: str | None = None,
        effect: str | None = None,
    ) -> Finding:
        """Note a departure and carry on. ``got_bytes`` (what came back on the wire) is decoded with the
        translator's renderers unless ``decoded`` is given."""
        if decoded is None:
            decoded = self.meter.render(got_bytes) if got_bytes else ""
        found = Finding(expected, got, got_bytes, decoded, self.test.effect if effect is None else effect)
        self.findings.append(found)
        return found

    def fail(
        self,
        expected: str,
        got: str,
        *,
        got_bytes: bytes = b"",
        decoded: str | None = None,
        effect: str | None = None,
    ) -> NoReturn:
        """Fail here (see :meth:`finding` for the arguments)."""
        raise TestFailed(self.finding(expected, got, got_bytes=got_bytes, decoded=decoded, effect=effect))

    def check(
        self, condition: bool, expected: str, got: str, *, got_bytes: bytes = b"", effect: str | None = None
    ) -> bool:
        """Note a finding when ``condition`` is false; return ``condition``."""
        if not condition:
            self.finding(expected, got, got_bytes=got_bytes, effect=effect)
        return condition

    def skip(self, reason: str) -> NoReturn:
        """Skip the test (the meter lacks what it needs, or the settings do not allow it)."""
        raise TestSkipped(reason)


class Registry:
    """The tests known to a run: the built-in groups and whatever a vendor registers."""

    def __init__(self) -> None:
        self._tests: dict[str, ConformanceTest] = {}

    def add(self, test: ConformanceTest) -> ConformanceTest:
        if "." not in test.id or not test.id.startswith(test.group + "."):
            raise ValueError(f"a test id is '<group>.<name>': {test.id!r} in group {test.group!r}")
        if test.id in self._tests:
            raise ValueError(f"a test {test.id!r} is registered already")
        self._tests[test.id] = test
        return test

    def remove(self, test_id: str) -> None:
        """Forget a test (a vendor's module loaded twice, a test replaced)."""
        self._tests.pop(test_id, None)

    def __iter__(self) -> Iterator[ConformanceTest]:
        order = {group: index for index, group in enumerate(GROUPS)}
        return iter(sorted(self._tests.values(), key=lambda t: order.get(t.group, len(GROUPS))))

    def __len__(self) -> int:
        return len(self._tests)

    def __getitem__(self, test_id: str) -> ConformanceTest:
        return self._tests[test_id]

    def select(self, patterns: Sequence[str] = (), *, exclude: Sequence[str] = ()) -> list[ConformanceTest]:
        """The tests whose id or group matches one of ``patterns`` (shell patterns; all when empty) and
        none of ``exclude``."""

        def matches(test: ConformanceTest, pattern: str) -> bool:
            return fnmatch.fnmatchcase(test.id, pattern) or test.group == pattern

        chosen = [t for t in self if not patterns or any(matches(t, p) for p in patterns)]
        return [t for t in chosen if not any(matches(t, p) for p in exclude)]


REGISTRY = Registry()
"""The default registry: the built-in tests (:mod:`dlmskit.conformance.groups`) and those registered with
:func:`conformance_test` without a ``registry``."""


def conformance_test(
    test_id: str,
    *,
    group: str | None = None,
    requirement: Requirement,
    safety: Safety = Safety.READ_ONLY,
    effect: str = "",
    title: str = "",
    xfail: str = "",
    registry: Registry | None = None,
) -> Callable[[TestFunction], TestFunction]:
    """Register the decorated function as a conformance test (see the module documentation)."""

    def register(function: TestFunction) -> TestFunction:
        test = ConformanceTest(
            id=test_id,
            group=group or test_id.split(".", 1)[0],
            requirement=requirement,
            safety=safety,
            function=function,
            effect=effect,
            title=title,
            xfail=xfail,
        )
        (registry if registry is not None else REGISTRY).add(test)
        return function

    return register


def run_one(test: ConformanceTest, meter: MeterUnderTest, *, allow_writes: bool = False) -> TestResult:
    """Run one test against ``meter``; never raises for what the meter or the test does."""
    from dlmskit.conformance.probe import Transcript

    if test.safety is Safety.WRITES and not allow_writes:
        return TestResult(test, Outcome.SKIP, "writes to the meter: run with --allow-writes")
    transcript = Transcript(meter.render)
    context = TestContext(test, meter, transcript)
    meter.transcript = transcript
    try:
        test.function(context)
    except TestFailed:
        outcome, message = Outcome.FAIL, context.findings[-1].expected
    except TestSkipped as skipped:
        outcome, message = Outcome.SKIP, str(skipped)
    except DlmsError as error:
        outcome, message = Outcome.ERROR, f"{type(error).__name__}: {error}"
    except Exception as error:  # a bug in a test must not stop the run
        lines = traceback.format_exception_only(type(error), error)
        outcome, message = Outcome.ERROR, "".join(lines).strip()
    else:
        if context.findings:
            count = len(context.findings)
            outcome = Outcome.FAIL
            message = context.findings[0].expected + (f" (and {count - 1} more)" if count > 1 else "")
        else:
            outcome, message = Outcome.PASS, ""
    finally:
        meter.close_all()
    if outcome is Outcome.FAIL and test.xfail:
        outcome, message = Outcome.XFAIL, f"{message} [expected: {test.xfail}]"
    return TestResult(test, outcome, message, list(context.findings), transcript.to_list())


def run_tests(
    tests: Iterable[ConformanceTest],
    meter: MeterUnderTest,
    *,
    allow_writes: bool = False,
    on_result: Callable[[TestResult], None] | None = None,
) -> list[TestResult]:
    """Run ``tests`` in order; ``on_result`` sees each result as it comes (for a progress display)."""
    results = []
    for test in tests:
        result = run_one(test, meter, allow_writes=allow_writes)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
