"""Property tests for the pure parts of the core: manifests, names, units, pack indexes."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artctl.base.hashing import hash_bytes
from artctl.base.units import format_duration, parse_duration, parse_size
from artctl.errors import InvalidInput, InvalidName, UnsafePath
from artctl.format.manifest import Entry, Manifest, diff, validate_path
from artctl.format.names import parse_name, parse_ref
from artctl.repository.packs import decode_index, encode_index

segment = st.text(alphabet=string.ascii_letters + string.digits + "._- ", min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)
paths = st.lists(segment, min_size=1, max_size=4).map("/".join)
digests = st.binary(min_size=1, max_size=32).map(hash_bytes)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(paths, st.tuples(digests, st.integers(0, 2**40)), max_size=20))
def test_manifest_round_trip_is_canonical(files: dict[str, tuple[str, int]]) -> None:
    entries = [Entry(p, d, s) for p, (d, s) in files.items()]
    try:
        manifest = Manifest.from_entries(entries)
        data = manifest.canonical()
    except UnsafePath:
        return  # collisions (case, file-vs-dir) are refused; that is tested below
    again = Manifest.from_entries(reversed(entries)).canonical()
    assert data == again
    parsed = Manifest.parse(data)
    assert parsed.canonical() == data
    assert diff(manifest, parsed).empty


@pytest.mark.parametrize(
    "bad", ["", "/abs", "a/../b", "..", "a//b", "./a", "a/", "a\x00b", "a\\b", "C:x", "a\nb"]
)
def test_unsafe_paths_are_refused(bad: str) -> None:
    with pytest.raises(UnsafePath):
        validate_path(bad)


def test_collisions_after_normalization_are_refused() -> None:
    with pytest.raises(UnsafePath):
        Manifest.from_entries(
            [Entry("A.txt", hash_bytes(b"1"), 1), Entry("a.txt", hash_bytes(b"2"), 1)]
        ).canonical()
    with pytest.raises(UnsafePath):
        Manifest.from_entries(
            [Entry("caf\u00e9", hash_bytes(b"1"), 1), Entry("cafe\u0301", hash_bytes(b"2"), 1)]
        ).canonical()
    with pytest.raises(UnsafePath):
        Manifest.from_entries(
            [Entry("a", hash_bytes(b"1"), 1), Entry("a/b", hash_bytes(b"2"), 1)]
        ).canonical()


def test_malformed_manifest_bytes_are_refused() -> None:
    from artctl.errors import IntegrityError

    good = Manifest.from_entries([Entry("a", hash_bytes(b"1"), 1)]).canonical()
    for bad in (
        b"",
        b"not json\n",
        good + b"{broken\n",
        good.replace(b'"size":1', b'"size":-1'),
        good.replace(b'"format":1', b'"format":99'),
    ):
        with pytest.raises(IntegrityError):
            Manifest.parse(bad)


part = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@given(part, part, st.one_of(st.none(), part))
def test_names_round_trip(project: str, name: str, entity: str | None) -> None:
    text = f"{entity}/{project}/{name}" if entity else f"{project}/{name}"
    parsed = parse_name(text)
    assert str(parsed) == f"{project}/{name}"  # the entity is the repository's owner, not a part
    ref = parse_ref(text + ":best")
    assert ref.alias == "best" and ref.name == parsed
    assert parse_ref(text).alias == "latest"


@pytest.mark.parametrize("bad", ["", "x", "a/b/c/d", "a//b", "a/b:", ":x", "a/b c", "a/.b"])
def test_bad_refs(bad: str) -> None:
    with pytest.raises(InvalidName):
        parse_ref(bad)


@given(st.integers(1, 10**6), st.sampled_from(["s", "min", "h", "d", "w", "mo", "y"]))
def test_durations_round_trip(n: int, unit: str) -> None:
    delta = parse_duration(f"{n}{unit}")
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0", 0),
        ("1GB", 10**9),
        ("500MiB", 500 * 2**20),
        ("1.5KB", 1500),
        ("10 MB", 10**7),
        ("2gib", 2 * 2**30),
        ("7", 7),
    ],
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["1XB", "-5GB", "", "GB", "1e9", "ten"])
def test_bad_sizes(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_size(bad)


@given(
    st.lists(
        st.tuples(digests, st.integers(0, 2**40), st.integers(0, 2**30)),
        max_size=50,
        unique_by=lambda t: t[0],
    )
)
def test_pack_index_round_trip(blobs: list[tuple[str, int, int]]) -> None:
    data = encode_index(blobs)
    assert decode_index(data) == sorted(blobs)


def test_damaged_pack_index_is_refused() -> None:
    from artctl.errors import IntegrityError

    data = bytearray(encode_index([(hash_bytes(b"x"), 8, 1)]))
    data[20] ^= 1
    with pytest.raises(IntegrityError):
        decode_index(bytes(data))


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(paths, st.tuples(digests, st.integers(0, 2**40)), max_size=30),
    st.integers(1, 400),
    st.integers(1, 5),
)
def test_streamed_manifest_equals_parsed_manifest(
    files: dict[str, tuple[str, int]], block: int, lines_per_call: int
) -> None:
    """Whatever the block boundaries and batch size, streaming gives the entries parse gives."""
    import artctl.format.manifest as manifest_mod

    try:
        data = Manifest.from_entries([Entry(p, d, s) for p, (d, s) in files.items()]).canonical()
    except UnsafePath:
        return
    old = manifest_mod.STREAM_LINES
    manifest_mod.STREAM_LINES = lines_per_call
    try:
        streamed = list(manifest_mod.stream_entries(_blocks(data, block)))
    finally:
        manifest_mod.STREAM_LINES = old
    assert streamed == list(Manifest.parse(data))


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(paths, st.tuples(digests, st.integers(0, 9)), max_size=15),
    st.dictionaries(paths, st.tuples(digests, st.integers(0, 9)), max_size=15),
)
def test_merged_diff_equals_the_set_diff(
    old: dict[str, tuple[str, int]], new: dict[str, tuple[str, int]]
) -> None:
    from artctl.format.manifest import diff_sorted

    before = Manifest.from_entries([Entry(p, d, s) for p, (d, s) in old.items()])
    after = Manifest.from_entries([Entry(p, d, s) for p, (d, s) in new.items()])
    merged = diff_sorted(iter(before), iter(after))
    changed = sorted(p for p in set(old) & set(new) if old[p] != new[p])
    assert (merged.added, merged.removed, merged.changed) == (
        sorted(set(new) - set(old)),
        sorted(set(old) - set(new)),
        changed,
    )


def test_streamed_manifest_refuses_disorder_duplicates_and_names_the_bad_line() -> None:
    from artctl.errors import IntegrityError
    from artctl.format.manifest import stream_entries

    a, b = Entry("a", hash_bytes(b"1"), 1), Entry("b", hash_bytes(b"2"), 2)
    good = Manifest.from_entries([a, b]).canonical()
    header, line_a, line_b = good.splitlines(keepends=True)
    with pytest.raises(IntegrityError, match="not sorted"):
        list(stream_entries([header + line_b + line_a]))
    with pytest.raises(IntegrityError, match="not sorted"):
        list(stream_entries([header + line_a + line_a]))
    with pytest.raises(IntegrityError, match="line 3 is not valid JSON"):
        list(stream_entries(_blocks(header + line_a + b"{broken\n" + line_b, 7)))
    with pytest.raises(IntegrityError, match="empty"):
        list(stream_entries([b""]))
    with pytest.raises(UnsafePath):
        list(stream_entries([header + line_a.replace(b'"a"', b'"../x"')]))
    assert list(stream_entries([good.rstrip(b"\n")])) == [a, b]  # no final newline: still read


@pytest.mark.parametrize("size", [8 << 20, (8 << 20) + 1, (9 << 20) + 12345])
def test_large_files_hash_the_same_window_by_window(tmp_path, monkeypatch, size: int) -> None:
    import os

    import artctl.base.hashing as hashing

    monkeypatch.setattr(hashing, "READ_WINDOW", 1 << 20)
    data = os.urandom(size)
    (tmp_path / "big").write_bytes(data)
    assert hashing.hash_file(tmp_path / "big") == hash_bytes(data)
