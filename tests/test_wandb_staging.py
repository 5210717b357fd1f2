"""W&B's keywords of ``add_file`` / ``add_dir`` / ``new_file`` / ``add_reference`` (issue 17): each
means what it means in W&B — policy, is_tmp, skip_cache, overwrite, merge, checksum, max_objects."""

from __future__ import annotations

from pathlib import Path

import pytest

import artctl
from artctl.base.hashing import hash_bytes
from artctl.errors import InvalidInput, SourceChanged

from conftest import make_tree

LARGE = 1024 * 1024 + 7  # stored loose (packs take smaller blobs)


@pytest.fixture(autouse=True)
def _no_active_run():  # type: ignore[no-untyped-def]
    yield
    from artctl.api import run as run_api

    run_api._active = None


def _contents(art: artctl.Artifact, root: Path) -> dict[str, bytes]:
    out = Path(art.download(root=root))
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_mutable_captures_the_bytes_when_added_immutable_reads_them_when_logged(
    repo_dir: Path, repo, tmp_path: Path
) -> None:
    src = make_tree(
        repo_dir / "src",
        {"small.txt": "small v1", "big.bin": b"B" * LARGE, "d/x.txt": "x v1", "keep.txt": "promised"},
    )
    packs_before = len(list(repo.store.iter_packs()))
    art = artctl.Artifact("p/ds", "dataset")
    entry = art.add_file(src / "small.txt")  # policy="mutable", W&B's default
    assert (entry.path, entry.digest) == ("small.txt", hash_bytes(b"small v1"))
    art.add_file(src / "big.bin", policy="mutable")
    art.add_dir(src / "d", name="d")
    art.add_file(src / "keep.txt", policy="immutable")
    for i in range(40):  # many small adds, one pack
        (src / f"n{i}.txt").write_text(f"n{i}")
        art.add_file(src / f"n{i}.txt", name=f"many/n{i}.txt")
    # Changed (or gone) before logging: what was added is what gets logged.
    (src / "small.txt").write_text("small v2, longer")
    (src / "big.bin").write_bytes(b"C" * LARGE)
    (src / "d" / "x.txt").unlink()
    (src / "keep.txt").write_text("changed after all")  # immutable: read at log time
    art.save()
    got = _contents(art, tmp_path / "out")
    assert got["small.txt"] == b"small v1" and got["big.bin"] == b"B" * LARGE
    assert got["d/x.txt"] == b"x v1" and got["keep.txt"] == b"changed after all"
    assert got["many/n39.txt"] == b"n39"
    assert len(list(repo.store.iter_packs())) - packs_before == 1
    with pytest.raises(ValueError, match="invalid policy"):
        artctl.Artifact("p/other", "dataset").add_file(src / "keep.txt", policy="sometimes")  # type: ignore[arg-type]


def test_captured_bytes_of_an_unlogged_artifact_are_ordinary_garbage(cli, repo_dir: Path, repo) -> None:
    src = make_tree(repo_dir / "src", {"big.bin": b"B" * LARGE})
    digest = hash_bytes(b"B" * LARGE)
    art = artctl.Artifact("p/ds", "dataset")
    art.add_file(src / "big.bin")
    assert repo.store.has(digest)
    cli.ok("gc")  # younger than the grace period: kept, the source may go
    (src / "big.bin").unlink()
    assert repo.store.has(digest)
    art.save()
    assert art.get_path("big.bin").digest == digest

    # Never logged: gc reclaims the capture like any unreferenced object.
    (src / "other.bin").write_bytes(b"O" * LARGE)
    lost = artctl.Artifact("p/lost", "dataset")
    lost_digest = lost.add_file(src / "other.bin").digest
    cli.ok("gc", "--grace", "0")
    assert lost_digest is not None and not repo.store.has(lost_digest)
    # Logged after all: the unchanged source is stored again; a changed one is refused.
    lost.save()
    assert lost.get_path("other.bin").digest == lost_digest
    changed = artctl.Artifact("p/changed", "dataset")
    changed.add_file(src / "other.bin", name="o.bin")
    (src / "other.bin").write_bytes(b"P" * LARGE)
    (src / "third.bin").write_bytes(b"T" * LARGE)
    changed.add_file(src / "third.bin")
    cli.ok("gc", "--grace", "0")  # other.bin's old bytes are kept by p/lost; third.bin's go
    (src / "third.bin").write_bytes(b"U" * LARGE)
    with pytest.raises(SourceChanged, match="third.bin changed"):
        changed.save()  # never the new bytes in place of the added ones
    assert changed.is_draft()
    assert "p/changed" not in {a.name for a in repo.registry.iter_artifacts()}


def test_is_tmp_names_the_entry_by_its_content(repo_dir: Path) -> None:
    one = make_tree(repo_dir / "one", {"pred.tmp.npy": "first"})
    two = make_tree(repo_dir / "two", {"pred.tmp.npy": "second"})
    art = artctl.Artifact("p/preds", "predictions")
    a = art.add_file(one / "pred.tmp.npy", is_tmp=True)
    b = art.add_file(two / "pred.tmp.npy", name="out/pred.tmp.npy", is_tmp=True)
    c = art.add_file(two / "pred.tmp.npy", is_tmp=True, policy="immutable")
    assert a.path == hash_bytes(b"first")[:20] + ".tmp.npy"
    assert b.path == "out/" + hash_bytes(b"second")[:20] + ".tmp.npy"
    assert c.path == hash_bytes(b"second")[:20] + ".tmp.npy"
    art.save()
    assert sorted(e.path for e in art.manifest()) == sorted([a.path, b.path, c.path])


def test_overwrite_and_merge(repo_dir: Path, tmp_path: Path) -> None:
    src = make_tree(repo_dir / "src", {"a.txt": "A", "same.txt": "A", "dir/x.txt": "x", "dir/y.txt": "y"})
    art = artctl.Artifact("p/ds", "dataset")
    art.add_file(src / "a.txt")
    art.add_file(src / "same.txt", name="a.txt")  # same content at the same name: fine, as in W&B
    (src / "a.txt").write_text("A2")
    with pytest.raises(ValueError, match="cannot add 'a.txt' twice") as err:
        art.add_file(src / "a.txt")
    assert isinstance(err.value, InvalidInput)
    with pytest.raises(ValueError, match="cannot add 'a.txt' twice"):
        art.add_file(src / "a.txt", policy="immutable")
    art.add_file(src / "a.txt", overwrite=True)

    art.add_dir(src / "dir", name="dir")
    (src / "dir" / "x.txt").write_text("x2")
    (src / "dir" / "z.txt").write_text("z")
    (src / "dir" / "y.txt").unlink()
    with pytest.raises(ValueError, match="merge=True"):
        art.add_dir(src / "dir", name="dir")
    art.add_dir(src / "dir", name="dir", merge=True)  # adds and replaces; never removes
    with art.new_file("dir/x.txt", mode="x") as fh:
        fh.write("x2")  # same content: fine
    art.save()
    assert _contents(art, tmp_path / "out") == {
        "a.txt": b"A2",
        "dir/x.txt": b"x2",
        "dir/y.txt": b"y",
        "dir/z.txt": b"z",
    }


def test_skip_cache_is_accepted_and_nothing_reaches_the_user_cache(
    repo_dir: Path, own_user_cache: Path
) -> None:
    src = make_tree(repo_dir / "src", {"a.txt": "A", "d/b.txt": "B"})
    art = artctl.Artifact("p/ds", "dataset")
    art.add_file(src / "a.txt", skip_cache=True)
    art.add_dir(src / "d", name="d", skip_cache=True, policy="immutable")
    art.save()
    assert sorted(e.path for e in art.manifest()) == ["a.txt", "d/b.txt"]
    assert not (own_user_cache / "objects").exists() or not any((own_user_cache / "objects").rglob("*"))


def test_add_reference_checksum_and_max_objects_per_call(repo_dir: Path, tmp_path: Path) -> None:
    nfs = make_tree(tmp_path / "nfs", {"a.csv": "1", "b.csv": "2"})
    uri = (nfs / "a.csv").as_uri()
    art = artctl.Artifact("p/refs", "dataset")
    [raw] = art.add_reference(uri, name="raw.csv", checksum=False)
    [checked] = art.add_reference(uri, name="checked.csv")  # the same URI, its own options
    assert (raw.ref, raw.digest, raw.ref_state) == (uri, None, None)
    assert checked.digest == hash_bytes(b"1")
    with pytest.raises(InvalidInput, match="more than 1 object "):
        art.add_reference(nfs.as_uri(), name="all", max_objects=1)  # refused when added, as in W&B
    art.add_reference(nfs.as_uri(), name="all", max_objects=2)
    art.save()
    entries = {e.path: e for e in art.manifest()}
    assert entries["raw.csv"].digest is None and entries["checked.csv"].digest == hash_bytes(b"1")
    assert sorted(entries) == ["all/a.csv", "all/b.csv", "checked.csv", "raw.csv"]


def test_bytes_captured_in_one_repository_are_logged_into_another(
    cli, repo_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    cli.ok("init", str(other))
    src = make_tree(repo_dir / "src", {"big.bin": b"B" * LARGE, "small.txt": "s1"})
    art = artctl.Artifact("ds", "dataset")
    art.add_file(src / "big.bin")  # captured here, in the working directory's repository
    art.add_file(src / "small.txt")
    (src / "big.bin").write_bytes(b"C" * LARGE)
    (src / "small.txt").write_text("s2")
    with artctl.init(project="p", job_type="train", dir=other) as run:
        run.log_artifact(art)
    assert _contents(art, tmp_path / "out") == {"big.bin": b"B" * LARGE, "small.txt": b"s1"}
    assert artctl.Api(dir=other).artifact("p/ds:v0").digest == art.digest
    with pytest.raises(artctl.errors.ArtifactNotFound):
        artctl.Api(dir=repo_dir).artifacts("dataset", "p/ds")


def test_a_directory_of_thousands_of_files_is_captured_when_added(repo_dir: Path, tmp_path: Path) -> None:
    src = make_tree(repo_dir / "many", {f"d{i % 8}/f{i}.txt": f"{i}" for i in range(4100)})
    art = artctl.Artifact("p/many", "dataset")
    art.add_dir(src)
    (src / "d0" / "f0.txt").write_text("changed")
    (src / "d1" / "f1.txt").unlink()
    art.save()
    got = _contents(art, tmp_path / "out")
    assert len(got) == 4100 and got["d0/f0.txt"] == b"0" and got["d1/f1.txt"] == b"1"
