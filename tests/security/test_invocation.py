"""Invocation counter stores (never hand out a counter twice) and the replay tracker."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dlmskit.errors import ConfigurationError, InvocationCounterError
from dlmskit.security.ciphering import CipheredApdu
from dlmskit.security.invocation import (
    MAX_INVOCATION_COUNTER,
    FileInvocationCounterStore,
    InvocationCounterStore,
    MemoryInvocationCounterStore,
    ReceivedCounterTracker,
    SqliteInvocationCounterStore,
)

CLIENT = bytes.fromhex("4D4D4D0000000001")
OTHER = bytes.fromhex("4D4D4D0000000002")


def _stores(tmp_path: Path) -> list[InvocationCounterStore]:
    return [
        MemoryInvocationCounterStore(),
        FileInvocationCounterStore(tmp_path / "counters.json"),
        FileInvocationCounterStore(tmp_path / "blocks.json", block=100),
        SqliteInvocationCounterStore(tmp_path / "counters.sqlite"),
    ]


def test_stores_count_per_system_title_and_key(tmp_path: Path) -> None:
    for store in _stores(tmp_path):
        assert [store.next(CLIENT, "global-unicast") for _ in range(3)] == [1, 2, 3]
        assert store.next(CLIENT, "global-broadcast") == 1
        assert store.next(OTHER, "global-unicast") == 1
        assert store.next(CLIENT, "global-unicast") == 4


def test_stores_advance_never_goes_back(tmp_path: Path) -> None:
    for store in _stores(tmp_path):
        store.advance(CLIENT, "global-unicast", 500)
        assert store.next(CLIENT, "global-unicast") == 500
        store.advance(CLIENT, "global-unicast", 10)
        assert store.next(CLIENT, "global-unicast") == 501


def test_stores_exhaustion(tmp_path: Path) -> None:
    for store in _stores(tmp_path):
        store.advance(CLIENT, "k", MAX_INVOCATION_COUNTER - 1)
        assert store.next(CLIENT, "k") == MAX_INVOCATION_COUNTER - 1
        assert store.next(CLIENT, "k") == MAX_INVOCATION_COUNTER
        for _ in range(2):
            with pytest.raises(InvocationCounterError, match=r"exhausted .*must be replaced"):
                store.next(CLIENT, "k")


def test_stores_check_arguments(tmp_path: Path) -> None:
    for store in _stores(tmp_path):
        with pytest.raises(ConfigurationError, match="system title must be 8 bytes"):
            store.next(CLIENT[:7], "k")
        with pytest.raises(ConfigurationError, match="key_id"):
            store.next(CLIENT, "")
        with pytest.raises(ConfigurationError, match="invocation counter must be"):
            store.advance(CLIENT, "k", -1)


def test_file_store_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "counters.json"
    store = FileInvocationCounterStore(path)
    first = [store.next(CLIENT, "global-unicast") for _ in range(5)]
    store.advance(CLIENT, "global-broadcast", 77)
    reopened = FileInvocationCounterStore(path)
    assert reopened.next(CLIENT, "global-unicast") == 6
    assert reopened.next(CLIENT, "global-broadcast") == 77
    assert first == [1, 2, 3, 4, 5]
    # no temporary file left behind; the lock file stays (removing it would race with a process locking it)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counters.json", "counters.json.lock"]
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["counters"] == {"4D4D4D0000000001": {"global-broadcast": 78, "global-unicast": 7}}


def test_file_store_block_reservation_skips_but_never_reuses(tmp_path: Path) -> None:
    path = tmp_path / "counters.json"
    store = FileInvocationCounterStore(path, block=10)
    assert [store.next(CLIENT, "k") for _ in range(3)] == [1, 2, 3]
    # The process "crashes" here: the file already reserves counters 1..10.
    reopened = FileInvocationCounterStore(path, block=10)
    assert reopened.next(CLIENT, "k") == 11
    seen = {1, 2, 3, 11}
    for _ in range(25):
        value = reopened.next(CLIENT, "k")
        assert value not in seen
        seen.add(value)
    assert FileInvocationCounterStore(path, block=10).next(CLIENT, "k") == 41


def test_file_store_never_repeats_over_many_reopens(tmp_path: Path) -> None:
    path = tmp_path / "counters.json"
    seen: set[int] = set()
    for round_number in range(10):
        store = FileInvocationCounterStore(path, block=1 + round_number % 3)
        for _ in range(4):
            value = store.next(CLIENT, "k")
            assert value not in seen
            seen.add(value)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"format": "other", "version": 1, "counters": {}}',
        '{"format": "dlmskit-invocation-counters", "version": 1, "counters": {"4D": {"k": "x"}}}',
        '{"format": "dlmskit-invocation-counters", "version": 1, "counters": {"4D": {"k": -5}}}',
    ],
)
def test_file_store_refuses_damaged_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "counters.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"counters\.json"):
        FileInvocationCounterStore(path)


def test_file_store_block_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="block must be at least 1"):
        FileInvocationCounterStore(tmp_path / "c.json", block=0)


def test_sqlite_store_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "counters.sqlite"
    with SqliteInvocationCounterStore(path) as store:
        assert [store.next(CLIENT, "k") for _ in range(3)] == [1, 2, 3]
        store.advance(OTHER, "k", 1000)
    with SqliteInvocationCounterStore(path) as reopened:
        assert reopened.next(CLIENT, "k") == 4
        assert reopened.next(OTHER, "k") == 1000


def test_sqlite_store_shared_by_two_connections(tmp_path: Path) -> None:
    path = tmp_path / "counters.sqlite"
    with SqliteInvocationCounterStore(path) as first, SqliteInvocationCounterStore(path) as second:
        values = [store.next(CLIENT, "k") for _ in range(10) for store in (first, second)]
    assert sorted(values) == list(range(1, 21))


@pytest.mark.parametrize(
    "make_store",
    [
        lambda path: MemoryInvocationCounterStore(),
        lambda path: FileInvocationCounterStore(path / "c.json", block=5),
        lambda path: SqliteInvocationCounterStore(path / "c.sqlite"),
    ],
)
def test_stores_unique_under_threads(
    tmp_path: Path, make_store: Callable[[Path], InvocationCounterStore]
) -> None:
    store = make_store(tmp_path)
    results: list[int] = []

    def work() -> None:
        values = [store.next(CLIENT, "k") for _ in range(25)]
        results.extend(values)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(1, 101))


def test_tracker_accepts_increasing_counters() -> None:
    tracker = ReceivedCounterTracker()
    assert tracker.last(CLIENT) is None
    for counter in (1, 2, 10, 0xFFFFFFFF):
        tracker.accept(CLIENT, counter)
    assert tracker.last(CLIENT) == 0xFFFFFFFF
    tracker.accept(OTHER, 1)  # each peer separately
    tracker.accept(CLIENT, 1, key_id="broadcast")  # and each key separately


def test_tracker_refuses_replay_and_decrease() -> None:
    tracker = ReceivedCounterTracker()
    tracker.accept(CLIENT, 7)
    for counter in (7, 6, 0):
        with pytest.raises(
            InvocationCounterError, match=f"counter {counter} from system title 4D4D4D0000000001.*7"
        ):
            tracker.check(CLIENT, counter)
        with pytest.raises(InvocationCounterError, match="last accepted 7"):
            tracker.accept(CLIENT, counter)
    tracker.check(CLIENT, 8)  # check alone remembers nothing
    assert tracker.last(CLIENT) == 7
    tracker.reset(CLIENT)
    tracker.accept(CLIENT, 1)


# Gurux forum thread "Token Gateway Using Arduino Client" (shared/seeds/001_5ff6070f446e4372.txt): HDLC
# I-frames in which the client sent a glo-get-request and later a glo-action-request, both with invocation
# counter 2. The APDU follows the LLC bytes E6 E6 00 and is followed by the FCS and the closing flag.
TRACE_GET = (
    "7E A0 2D 2 47 9 54 14 1B E6 E6 0 C8 1E 30 0 0 0 2 E9 F1 77 DC 3B 13 F8 6A 86 9A C1 E3 94 5E 6F A2 B5 4D"
    " AF 8E 19 18 B3 E7 E0 A0 DD 7E"
)
TRACE_ACTION = (
    "7E A0 41 2 47 9 54 97 CD E6 E6 0 CB 32 30 0 0 0 2 EA F1 77 DC 3B 13 F8 6A 86 9A C1 E0 95 92 6E D2 7D 80"
    " 47 58 6F 99 9E D9 47 C7 BD 6A 84 2F 37 3 7A DC 26 AE 6D 6D C0 60 B5 46 BC 93 89 CE 44 7E"
)


def _trace_apdu(line: str) -> CipheredApdu:
    frame = bytes(int(token, 16) for token in line.split())
    return CipheredApdu.decode(frame[12:-3])


def test_tracker_catches_nonce_reuse_in_real_trace() -> None:
    get_request = _trace_apdu(TRACE_GET)
    action_request = _trace_apdu(TRACE_ACTION)
    tracker = ReceivedCounterTracker()
    tracker.accept(CLIENT, get_request.invocation_counter)
    with pytest.raises(InvocationCounterError, match=r"counter 2 .* not above the last accepted 2"):
        tracker.check(CLIENT, action_request.invocation_counter)
    # Why it matters: with the same key stream, C1 XOR C2 = P1 XOR P2. The two requests address the same
    # object (token gateway 0.0.19.40.0.255), so the ciphertexts agree wherever the plaintexts do; byte 0
    # gives away the plain tags get-request C0 / action-request C3, and byte 11 attribute 2 / method 1.
    leaked = bytes(
        a ^ b
        for a, b in zip(
            get_request.ciphertext_and_tag[:12], action_request.ciphertext_and_tag[:12], strict=True
        )
    )
    assert leaked == bytes((0xC0 ^ 0xC3,)) + bytes(10) + bytes((0x02 ^ 0x01,))


def test_file_store_removes_temporary_files_of_killed_writers(tmp_path: Path) -> None:
    path = tmp_path / "counters.json"
    store = FileInvocationCounterStore(path)
    store.next(CLIENT, "k")
    (tmp_path / ".counters.json.abc123.tmp").write_text("half a document")  # a writer killed mid-write
    store.advance(CLIENT, "k", 50)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counters.json", "counters.json.lock"]
    assert FileInvocationCounterStore(path).next(CLIENT, "k") == 50


def test_file_store_continues_from_an_older_file(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    FileInvocationCounterStore(old).advance(CLIENT, "k", 1521)
    new = tmp_path / "new" / "counters.json"
    new.parent.mkdir()
    store = FileInvocationCounterStore(new, inherit=old)
    assert store.next(CLIENT, "k") == 1521  # never from 1 again
    assert FileInvocationCounterStore(new).next(CLIENT, "k") == 1522  # the new file now holds them


def test_a_forked_child_never_reuses_its_parents_block(tmp_path: Path) -> None:
    store = FileInvocationCounterStore(tmp_path / "counters.json", block=100)
    assert store.next(CLIENT, "k") == 1  # the parent holds 2..100
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writer, b"%d" % store.next(CLIENT, "k"))
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    assert int(os.read(reader, 32)) == 101
    os.close(reader)
    assert store.next(CLIENT, "k") == 2


def test_tracker_window_applies_only_to_associations_open_at_once() -> None:
    class Association:
        pass

    tracker = ReceivedCounterTracker(window=10)
    first = Association()
    tracker.attach(first)
    tracker.accept(CLIENT, 20)
    with pytest.raises(InvocationCounterError):
        tracker.check(CLIENT, 15)  # one association: strictly increasing
    second = Association()
    tracker.attach(second)
    tracker.accept(CLIENT, 15)  # two at once: out of order within the window
    for counter in (15, 20, 10):  # but never twice, and never below the window
        with pytest.raises(InvocationCounterError):
            tracker.check(CLIENT, counter)
    del second
    with pytest.raises(InvocationCounterError):
        tracker.check(CLIENT, 16)
    assert tracker.expected(CLIENT) == 21 and tracker.highest_expected() == 21


def test_an_association_that_overlapped_keeps_the_window_for_its_own_counters() -> None:
    """A's counters come from a block reserved before B's: after B ended, A's next counter is below B's last
    one and was never seen. A (naming itself) keeps the window; a replay is refused all the same, and an
    association that never ran beside another one keeps the strict rule."""

    class Association:
        pass

    tracker = ReceivedCounterTracker(window=100)
    first = Association()
    tracker.attach(first)
    tracker.accept(CLIENT, 1, association=first)  # A's AARQ, block 1..16
    second = Association()
    tracker.attach(second)
    tracker.accept(CLIENT, 17, association=second)  # B's whole association, block 17..32
    tracker.accept(CLIENT, 18, association=second)
    del second
    tracker.accept(CLIENT, 2, association=first)  # A's GET, after B has gone
    with pytest.raises(InvocationCounterError):
        tracker.check(CLIENT, 2, association=first)  # never twice
    with pytest.raises(InvocationCounterError):
        tracker.check(CLIENT, 3)  # unnamed: the strict rule with one association open
    third = Association()
    del first
    tracker.attach(third)  # alone
    with pytest.raises(InvocationCounterError):
        tracker.check(CLIENT, 15, association=third)
    assert tracker.expected(CLIENT) == 19
