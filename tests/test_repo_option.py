"""``--repo URL|REMOTE`` / ``ARTCTL_REPO`` / ``Repo.open`` / ``Api(repo=)`` (issue 16): a
repository opened anywhere — a local path, or a remote itself (file://, S3) through its metadata
mirror in the user cache. Reads work from a directory with no repository; writes are published
to the remote before the command returns."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from artctl.errors import InvalidInput
from artctl.format.names import parse_name

from conftest import CLI, Result, make_tree, run_cli_process, run_killed_at
from servers import free_port, make_s3_bucket

#: What another part's tests already run on every backend: here only the path through --repo.
FILE_ONLY = pytest.mark.parametrize("remote", ["file"], indirect=True)


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.servers)])
def remote(request: pytest.FixtureRequest, tmp_path: Path, cli: CLI) -> str:
    """A remote holding ``p/ds:v0`` (alias ``prod``) and ``p/ds:v1``, pushed from a publisher
    repository; ``cli`` runs in an empty directory (no repository) with the remote's env."""
    if request.param == "file":
        url = (tmp_path / "remote").as_uri()
    else:
        server = request.getfixturevalue("s3_server")
        url = f"s3://{make_s3_bucket(server)}/team"
        cli.env.update(server.env)
    publish_remote(cli, tmp_path / "publisher", url)
    return url


def publish_remote(cli: CLI, publisher: Path, url: str) -> None:
    """Push ``p/ds:v0`` (alias ``prod``) and ``p/ds:v1`` to ``url`` from a new repository."""
    make_tree(publisher / "data", {"a.txt": "alpha\n", "big.bin": b"\x05" * 300_000})
    cli.ok("init", cwd=publisher)
    cli.ok("artifact", "put", "data", "-n", "p/ds", "-t", "dataset", "-a", "prod", cwd=publisher)
    make_tree(publisher / "data", {"b.txt": "beta\n"})
    cli.ok("artifact", "put", "data", "-n", "p/ds", "-t", "dataset", cwd=publisher)
    cli.ok("remote", "add", "origin", url, "--default", cwd=publisher)
    cli.ok("push", cwd=publisher)


def clone_listing(cli: CLI, url: str, where: Path) -> dict[str, dict[str, object]]:
    """What a fresh clone of ``url`` sees: ``{version: ls entry}`` of ``p/ds``."""
    cli.ok("clone", url, str(where))
    return {v["version"]: v for v in cli.ok("artifact", "ls", "p/ds", "--json", cwd=where).json()}


def mirror_objects(cache: Path) -> list[Path]:
    """The blobs (loose or packed) the mirrors in the user cache hold."""
    found = [
        *(cache / "mirrors").glob("*/.artifacts/objects/**/*"),
        *(cache / "mirrors").glob("*/.artifacts/packs/*"),
    ]
    return [p for p in found if p.is_file()]


def test_read_commands_on_a_remote_from_no_repository(
    cli: CLI, remote: str, workdir: Path, own_user_cache: Path
) -> None:
    listing = cli.ok("--repo", remote, "artifact", "ls", "--json").json()
    assert [a["name"] for a in listing] == ["p/ds"]
    show = cli.ok("artifact", "show", "p/ds:prod", "--json", "--repo", remote).json()
    assert show["version"] == "v0" and "prod" in show["aliases"]
    aliases = cli.ok("--repo", remote, "alias", "ls", "p/ds", "--json").json()
    assert {a["alias"]: a["version"] for a in aliases}["prod"] == "v0"
    cli.ok("--repo", remote, "artifact", "log", "p/ds")
    cli.ok("--repo", remote, "artifact", "diff", "p/ds:v0", "p/ds:v1")
    assert not mirror_objects(own_user_cache), "a read of metadata fetched objects"
    cli.ok("--repo", remote, "artifact", "get", "p/ds:prod", "--root", "out")
    assert (workdir / "out" / "big.bin").read_bytes() == b"\x05" * 300_000
    assert (workdir / "out" / "a.txt").read_text() == "alpha\n"
    assert mirror_objects(own_user_cache), "the fetched objects are kept in the mirror"
    cli.ok("--repo", remote, "artifact", "verify")
    assert not (workdir / ".artifacts").exists(), "no repository is created where the command ran"


def test_writes_on_a_remote_are_published(cli: CLI, remote: str, tmp_path: Path, workdir: Path) -> None:
    cli.ok("--repo", remote, "alias", "add", "p/ds:v1", "staging")
    cli.ok("--repo", remote, "artifact", "rm", "p/ds:v0", "--delete-aliases")
    make_tree(workdir / "new", {"n.txt": "new\n"})
    cli.ok("--repo", remote, "artifact", "put", "new", "-n", "p/other", "-t", "dataset")
    clone = tmp_path / "clone"
    seen = clone_listing(cli, remote, clone)
    assert list(seen) == ["v1"] and "staging" in seen["v1"]["aliases"]  # type: ignore[operator]
    cli.ok("artifact", "get", "p/other:latest", "--root", "got", cwd=clone)
    assert (clone / "got" / "n.txt").read_text() == "new\n"
    # the audit trail is the remote's (who moved what), not the mirror's merges
    history = cli.ok("--repo", remote, "alias", "log", "p/ds", "staging", "--json").json()
    assert (
        history == cli.ok("alias", "log", "p/ds", "staging", "--remote", "origin", "--json", cwd=clone).json()
    )
    assert [(e["from"], e["to"]) for e in history] == [(None, "v1")]


@FILE_ONLY
def test_description_edit_round_trips(cli: CLI, remote: str, tmp_path: Path) -> None:
    cli.ok("--repo", remote, "artifact", "update", "p/ds:v1", "--description", "cleaned")
    assert (
        cli.ok("--repo", remote, "artifact", "show", "p/ds:v1", "--json").json()["description"] == "cleaned"
    )
    cli.ok("clone", remote, str(tmp_path / "clone"))
    shown = cli.ok("artifact", "show", "p/ds:v1", "--json", cwd=tmp_path / "clone").json()
    assert shown["description"] == "cleaned"


@FILE_ONLY
def test_alias_removal_round_trips(cli: CLI, remote: str, tmp_path: Path) -> None:
    cli.ok("--repo", remote, "alias", "rm", "p/ds", "prod")
    assert "prod" not in cli.ok("--repo", remote, "artifact", "show", "p/ds:v0", "--json").json()["aliases"]
    assert "prod" not in clone_listing(cli, remote, tmp_path / "clone")["v0"]["aliases"]  # type: ignore[operator]


def test_a_failed_publish_leaves_the_mirror_as_the_remote_is(cli: CLI, tmp_path: Path) -> None:
    from artctl.errors import RemoteError
    from artctl.ops.lifecycle import add_alias
    from artctl.ops.remote.mirror import open_mirror

    url = (tmp_path / "remote").as_uri()
    publish_remote(cli, tmp_path / "publisher", url)
    format_file = tmp_path / "remote" / "FORMAT"
    good = format_file.read_bytes()
    mirror = open_mirror(url)
    try:
        with pytest.raises(RemoteError), mirror.published():
            add_alias(mirror.repository, "p/ds:v1", "oops")
            format_file.write_bytes(b"not artctl")  # the remote breaks before the publish
        format_file.write_bytes(good)
        mirror.refresh()
        assert mirror.repository.registry.aliases(parse_name("p/ds")) == {"prod": "v0"}
        with pytest.raises(ValueError), mirror.published():
            add_alias(mirror.repository, "p/ds:v1", "half")
            raise ValueError("the command fails after its change")
    finally:
        format_file.write_bytes(good)
        mirror.repository.close()
    aliases = {a["alias"] for a in cli.ok("--repo", url, "alias", "ls", "p/ds", "--json").json()}
    assert aliases == {"latest", "prod"}


def test_a_conflicting_change_is_refused_as_push_refuses_it(cli: CLI, tmp_path: Path) -> None:
    from artctl.errors import ArtctlError
    from artctl.ops.lifecycle import add_alias
    from artctl.ops.remote.mirror import open_mirror

    url = (tmp_path / "remote").as_uri()
    publish_remote(cli, tmp_path / "publisher", url)
    mirror = open_mirror(url)
    try:
        with pytest.raises(ArtctlError, match="prod"), mirror.published():
            add_alias(mirror.repository, "p/ds:v1", "prod")
            publisher = tmp_path / "publisher"  # someone else, meanwhile: a v2 becomes prod
            make_tree(publisher / "data", {"c.txt": "gamma\n"})
            cli.ok("artifact", "put", "data", "-n", "p/ds", "-t", "dataset", "-a", "prod", cwd=publisher)
            cli.ok("push", cwd=tmp_path / "publisher")
    finally:
        mirror.repository.close()
    aliases = {
        a["alias"]: a["version"] for a in cli.ok("--repo", url, "alias", "ls", "p/ds", "--json").json()
    }
    assert aliases["prod"] == "v2", "the remote keeps the other change; the mirror shows it"


def test_a_write_killed_before_its_publish_is_not_shown_and_the_rerun_publishes(
    cli: CLI, tmp_path: Path, workdir: Path
) -> None:
    url = (tmp_path / "remote").as_uri()
    publish_remote(cli, tmp_path / "publisher", url)
    run_killed_at("mirror.changed", "--repo", url, "alias", "add", "p/ds:v1", "gold", cwd=workdir)
    aliases = cli.ok("--repo", url, "alias", "ls", "p/ds", "--json").json()
    assert "gold" not in {a["alias"] for a in aliases}, "the mirror shows a change the remote lacks"
    cli.ok("--repo", url, "alias", "add", "p/ds:v1", "gold")
    assert "gold" in clone_listing(cli, url, tmp_path / "clone")["v1"]["aliases"]  # type: ignore[operator]
    assert not list((tmp_path / "xdg-cache").glob("artctl/mirrors/*/sessions/*")), "session files left"


def test_configured_remote_name_and_environment(cli: CLI, remote: str, workdir: Path) -> None:
    cli.ok("init")
    cli.ok("remote", "add", "origin", remote)
    assert cli.ok("artifact", "ls", "--json").json() == []  # nothing pulled here
    assert [a["name"] for a in cli.ok("--repo", "origin", "artifact", "ls", "--json").json()] == ["p/ds"]
    env_listing = cli.ok("artifact", "ls", "--json", env={"ARTCTL_REPO": remote}).json()
    assert [a["name"] for a in env_listing] == ["p/ds"]
    cli.ok("alias", "add", "p/ds:v1", "best", "--repo", "origin")
    assert cli.ok("artifact", "ls", "--json").json() == [], "the local repository is untouched"
    if remote.startswith("s3://"):  # a URL of a configured remote uses that remote's options
        endpoint = cli.env["AWS_ENDPOINT_URL"]
        cli.ok("remote", "rm", "origin")
        cli.ok("remote", "add", "origin", remote + "/", "-o", f"endpoint_url={endpoint}")
        dead = {k: f"http://127.0.0.1:{free_port()}" for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")}
        assert cli.ok("--repo", remote, "artifact", "ls", "--json", env=dead).json()[0]["name"] == "p/ds"


def test_api_and_repo_open_on_a_remote(cli: CLI, remote: str, workdir: Path) -> None:
    import os

    import artctl

    saved = {k: os.environ.get(k) for k in cli.env}
    os.environ.update(cli.env)
    try:
        api = artctl.Api(repo=remote)
        artifact = api.artifact("p/ds:prod")
        assert artifact.version == "v0"
        assert [a.version for a in api.artifact_versions("dataset", "p/ds")] == ["v0", "v1"]
        with artctl.Repo.open(remote) as repo:
            assert repo.resolve("p/ds:latest").version == "v1"
        version = api.artifact("p/ds:v1")
        version.aliases.append("from-api")
        version.save()  # published before it returns
        api.artifact("p/ds:v0").delete(delete_aliases=True)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    assert not (workdir / ".artifacts").exists()
    seen = clone_listing(cli, remote, workdir.parent / "clone")
    assert list(seen) == ["v1"] and "from-api" in seen["v1"]["aliases"]  # type: ignore[operator]


def test_a_local_path_is_that_repository(cli: CLI, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    cli.ok("init", cwd=other)
    make_tree(other / "d", {"x.txt": "x\n"})
    cli.ok("artifact", "put", "d", "-n", "p/x", "-t", "t", cwd=other)
    assert [a["name"] for a in cli.ok("--repo", str(other), "artifact", "ls", "--json").json()] == ["p/x"]
    cli.ok("--repo", str(other / ".artifacts"), "alias", "add", "p/x:v0", "gold")
    assert "gold" in cli.ok("artifact", "show", "p/x:gold", "--json", cwd=other).json()["aliases"]
    from artctl.repository.repo import Repository

    assert Repository.open(other).root == other / ".artifacts"
    assert Repository.open(other.as_uri()).root == other / ".artifacts"
    with pytest.raises(InvalidInput, match="is a remote URL"):
        Repository.open("s3://bucket/team")  # a URL needs the remote layers: Repo.open


def test_bad_targets_are_one_clear_line(cli: CLI, tmp_path: Path, own_user_cache: Path) -> None:
    missing = cli.fails("--repo", (tmp_path / "nowhere").as_uri(), "artifact", "ls")
    assert "nowhere" in missing.stderr
    unreachable = cli.fails(
        "--repo",
        "s3://bucket/x",
        "artifact",
        "ls",
        env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"},
    )
    assert "cannot reach" in unreachable.stderr and len(unreachable.stderr.strip().splitlines()) <= 2
    unknown = cli.fails("--repo", "origin", "artifact", "ls")
    assert "origin" in unknown.stderr
    assert not (own_user_cache / "mirrors").exists() or not any((own_user_cache / "mirrors").iterdir())


def test_local_only_commands_are_refused_on_a_remote(cli: CLI, remote: str) -> None:
    for args in (["draft", "new", "p/ds"], ["init"], ["remote", "add", "x", remote], ["push"], ["ui"]):
        result = cli.fails("--repo", remote, *args, code=2)
        assert "--repo" in result.stderr and "not on a remote" in result.stderr, result


def test_two_commands_at_once_on_one_mirror(cli: CLI, remote: str, tmp_path: Path, workdir: Path) -> None:
    results: dict[str, Result] = {}

    def alias(name: str) -> None:
        results[name] = run_cli_process(
            "--repo", remote, "alias", "add", "p/ds:v1", name, cwd=workdir, env=cli.env
        )

    threads = [threading.Thread(target=alias, args=(n,)) for n in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.returncode == 0 for r in results.values()), results
    aliases = clone_listing(cli, remote, tmp_path / "clone")["v1"]["aliases"]
    assert {"one", "two"} <= set(aliases)  # type: ignore[arg-type]


def test_gc_with_a_remote_runs_on_the_remote(cli: CLI, remote: str, own_user_cache: Path) -> None:
    report = cli.ok("--repo", remote, "gc", "--dry-run", "--json").json()
    assert isinstance(report, dict)
    assert not (own_user_cache / "mirrors").exists(), "gc on a remote needs no mirror"


@pytest.mark.damages_repository
def test_verify_on_a_remote_checks_the_remotes_bytes(cli: CLI, tmp_path: Path) -> None:
    """`--repo REMOTE artifact verify` verifies what the remote holds (its copies are read back
    and hashed), not the mirror's empty store: a damaged pack on the remote is a problem."""
    url = (tmp_path / "remote").as_uri()
    publish_remote(cli, tmp_path / "publisher", url)
    cli.ok("--repo", url, "artifact", "verify")
    pack = next((tmp_path / "remote" / "packs").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[-2] ^= 1
    pack.write_bytes(bytes(data))
    failed = cli.fails("--repo", url, "artifact", "verify")
    assert "on remote origin is corrupt" in failed.stdout, failed
