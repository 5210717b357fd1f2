"""Credentials never land in config.toml (issue 16): a secret-looking ``-o`` is refused unless
it is ``env:VAR`` (stored verbatim, read when the remote is used); a plain secret an older
artctl wrote keeps working with a warning; ``ARTCTL_REMOTE_<NAME>_URL`` and
``ARTCTL_REMOTE_<NAME>_OPTIONS_<KEY>`` override the files or define a remote on their own.

The S3 tests run against moto with the AWS chain removed from the environment (no
``AWS_ACCESS_KEY_ID``, no ``AWS_ENDPOINT_URL``): whatever reaches the server came through
artctl's options, ``env:`` values and ``ARTCTL_REMOTE_*`` variables."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conftest import make_tree
from servers import S3_KEY, S3_SECRET, free_port

#: Option keys that name credentials, as users write them for S3, GCS and Azure.
SECRET_OPTIONS = [
    "key",
    "secret",
    "token",
    "password",
    "sas_token",
    "connection_string",
    "account_key",
    "session_token",
    "client_secret",
    "credential",
    "aws_secret_access_key",
    "client_kwargs.aws_session_token",
    "s3_additional_kwargs.SSECustomerKey",
    "Account-Key",
]
#: Keys that look a little like them but hold no secret; accepted.
HARMLESS_OPTIONS = [
    "key_prefix=runs/",
    "kms_key_id=alias/artifacts",
    "account_name=devstoreaccount1",
    "client_id=0000-1111",
    "profile=team",
    "anon=true",
    "token=anon",  # gcsfs: anonymous access, a mode not a secret
    "endpoint_url=http://127.0.0.1:1",
]


def config_text(repo_dir: Path) -> str:
    path = repo_dir / ".artifacts" / "config.toml"
    return path.read_text() if path.exists() else ""


def bare_s3_env(s3_server) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """The servers' environment without the AWS chain's keys and endpoint: only artctl's own
    options can take a request to moto."""
    drop = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")
    return {**s3_server.env, **dict.fromkeys(drop)}


def put_dataset(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    make_tree(repo_dir / "data", {"a.txt": "alpha\n", "big.bin": b"\x05" * 1_100_000})
    cli.ok("artifact", "put", "data", "--name", "proj/ds", "--type", "dataset")


def test_secret_looking_options_are_refused_unless_env(cli, repo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Each secret-looking key: one error line naming it, a hint to the cloud's chain and to
    env:VAR, nothing written. The same key as env:VAR, and harmless keys, are accepted."""
    before = config_text(repo_dir)
    for key in SECRET_OPTIONS:
        refused = cli.fails("remote", "add", "origin", "s3://bucket/p", "-o", f"{key}=hunter2", code=2)
        lines = refused.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("error: ") and f" {key} " in lines[0], refused
        assert "AWS" in lines[1] and f"-o {key}=env:" in lines[1], refused
        assert config_text(repo_dir) == before and "hunter2" not in config_text(repo_dir)
    several = cli.fails("remote", "add", "o", "az://c", "-o", "account_key=a", "-o", "sas_token=b", code=2)
    assert (
        "account_key and sas_token" in several.stderr and "AZURE_STORAGE_CONNECTION_STRING" in several.stderr
    )
    harmless = [a for o in HARMLESS_OPTIONS for a in ("-o", o)]
    cli.ok("remote", "add", "origin", "s3://bucket/p", *harmless)
    for i, key in enumerate(SECRET_OPTIONS):
        cli.ok("remote", "add", f"r{i}", "s3://bucket/p", "-o", f"{key}=env:MY_VAR_{i}")
    assert "hunter2" not in config_text(repo_dir)
    malformed = cli.fails("remote", "add", "bad", "s3://b", "-o", "secret=env:not a name", code=2)
    assert "does not name an environment variable" in malformed.stderr
    # Every other way of storing an option refuses it too.
    config = cli.fails("config", "remote.origin.options.password", "hunter2", code=2)
    assert (
        "looks like a credential" in config.stderr
        and "artctl config remote.origin.options.password env:" in config.stderr
    )
    cli.ok("config", "remote.origin.options.password", "env:MY_PASSWORD")
    clone = cli.fails("clone", f"s3://bucket-{free_port()}", "c", "-o", "secret=hunter2", code=2)
    assert "looks like a credential" in clone.stderr and "cannot reach" not in clone.stderr
    assert not (repo_dir / "c").exists() and "hunter2" not in config_text(repo_dir)


def test_env_reference_is_stored_verbatim_and_resolved_at_use(
    cli, repo_dir: Path, s3_server, s3_bucket: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """``-o key=env:MY_KEY``: config.toml holds the reference, push and clone read the variable
    (the keys are nowhere else: the AWS chain is emptied), an unset one is one clear error."""
    put_dataset(cli, repo_dir)
    endpoint = f"endpoint_url={s3_server.endpoint_url}"
    refs = ["-o", "key=env:MY_KEY", "-o", "secret=env:MY_SECRET"]
    cli.ok("remote", "add", "origin", s3_bucket, "--default", "-o", endpoint, *refs)
    text = config_text(repo_dir)
    assert 'key = "env:MY_KEY"' in text and 'secret = "env:MY_SECRET"' in text
    assert S3_KEY not in text and S3_SECRET not in text
    bare = bare_s3_env(s3_server)
    missing = cli.fails("push", env={**bare, "MY_KEY": S3_KEY}, code=2)
    assert missing.stderr.splitlines()[0] == (
        "error: environment variable MY_SECRET is not set (option secret=env:MY_SECRET of remote origin)"
    ), missing
    assert S3_KEY not in missing.stderr
    env = {**bare, "MY_KEY": S3_KEY, "MY_SECRET": S3_SECRET}
    assert cli.ok("push", "--json", env=env).json()["objects_sent"] == 2
    assert s3_server.filesystem().exists(f"{s3_bucket[5:]}/FORMAT")
    # cron's environment often lacks the variable: cleanup skips that remote (keeps what only
    # it could confirm) instead of failing every night
    kept = cli.ok("cache", "cleanup", "0", "--json", env={**bare, "MY_KEY": S3_KEY})
    assert "Traceback" not in kept.stderr
    cli.ok("artifact", "verify", "proj/ds:v0", env=bare)
    listed = cli.ok("remote", "ls", "--json").json()[0]["options"]
    assert listed["secret"] == "env:MY_SECRET"  # a reference is no secret: shown as written
    clone = tmp_path / "clone"
    cli.ok("clone", s3_bucket, str(clone), "-o", endpoint, *refs, env=env)
    cli.ok("artifact", "get", "proj/ds:v0", "--root", "out", cwd=clone, env=env)
    assert (clone / "out" / "big.bin").read_bytes() == b"\x05" * 1_100_000
    assert S3_SECRET not in config_text(clone)


def test_legacy_plain_secret_works_and_warns_once_with_the_fix(
    cli, repo_dir: Path, s3_server, s3_bucket: str
) -> None:  # type: ignore[no-untyped-def]
    """A config.toml an older artctl wrote with the keys in it: push still works, one warning
    per command gives the command that moves them out, `remote ls` masks them; once that
    command has run (with the variables set), the keys are gone and so is the warning."""
    put_dataset(cli, repo_dir)
    (repo_dir / ".artifacts" / "config.toml").write_text(
        f'[remote.origin]\nurl = "{s3_bucket}"\n\n[remote.origin.options]\n'
        f'endpoint_url = "{s3_server.endpoint_url}"\nkey = "{S3_KEY}"\nsecret = "{S3_SECRET}"\n'
    )
    bare = bare_s3_env(s3_server)
    pushed = cli.ok("push", env=bare)
    warnings = [line for line in pushed.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, pushed.stderr
    assert (
        "remote origin keeps the credential key, secret in plain text in .artifacts/config.toml"
        in warnings[0]
    )
    assert S3_KEY not in pushed.stderr and S3_SECRET not in pushed.stderr
    masked = cli.ok("remote", "ls", "--json").json()[0]["options"]
    assert masked["key"] == masked["secret"] == "***"
    assert S3_SECRET not in cli.ok("config", "--list").stdout
    fix = re.search(r"run `(artctl remote add [^`]*)` with (\S+) and (\S+) set", warnings[0])
    assert fix is not None, warnings[0]
    argv = shlex.split(fix.group(1))
    assert argv[:5] == ["artctl", "remote", "add", "origin", s3_bucket] and "--force" in argv
    env = {**bare, fix.group(2): S3_KEY, fix.group(3): S3_SECRET}
    cli.ok(*argv[1:], env=env)
    assert S3_KEY not in config_text(repo_dir) and S3_SECRET not in config_text(repo_dir)
    again = cli.ok("pull", env=env)
    assert "warning" not in again.stderr


def test_env_overrides_url_and_option_of_a_configured_remote(
    cli, repo_dir: Path, s3_server, s3_bucket: str
) -> None:  # type: ignore[no-untyped-def]
    """ARTCTL_REMOTE_ORIGIN_URL and ARTCTL_REMOTE_ORIGIN_OPTIONS_ENDPOINT_URL replace what the
    file says (a dead endpoint, another bucket); a secret option may come from a variable;
    `remote ls` says where each value comes from."""
    put_dataset(cli, repo_dir)
    dead = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "remote", "add", "origin", "s3://not-this-bucket", "-o", f"endpoint_url={dead}", "-o", "anon=false"
    )
    env = {
        **bare_s3_env(s3_server),
        "ARTCTL_REMOTE_ORIGIN_URL": s3_bucket,
        "ARTCTL_REMOTE_ORIGIN_OPTIONS_ENDPOINT_URL": s3_server.endpoint_url,
        "ARTCTL_REMOTE_ORIGIN_OPTIONS_KEY": S3_KEY,
        "ARTCTL_REMOTE_ORIGIN_OPTIONS_SECRET": S3_SECRET,
    }
    cli.ok("push", env=env)
    assert s3_server.filesystem().exists(f"{s3_bucket[5:]}/FORMAT")
    assert "ARTCTL_REMOTE" not in config_text(repo_dir) and dead in config_text(repo_dir)
    spec = cli.ok("remote", "ls", "--json", env=env).json()[0]
    assert spec["url"] == s3_bucket and spec["options"]["secret"] == "***"
    assert spec["sources"] == {
        "url": "ARTCTL_REMOTE_ORIGIN_URL",
        "options.endpoint_url": "ARTCTL_REMOTE_ORIGIN_OPTIONS_ENDPOINT_URL",
        "options.anon": "repository",
        "options.key": "ARTCTL_REMOTE_ORIGIN_OPTIONS_KEY",
        "options.secret": "ARTCTL_REMOTE_ORIGIN_OPTIONS_SECRET",
    }
    table = cli.ok("remote", "ls", env=env).stdout
    assert f"{s3_bucket} (env)" in table and "anon=false " in table and "secret=*** (env)" in table


def test_a_remote_defined_by_the_environment_alone(
    cli, repo_dir: Path, s3_server, s3_bucket: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """CI with no `remote add`: ARTCTL_REMOTE_ORIGIN_URL defines `origin` (the only remote, so
    the default), a nested option comes from ``…_OPTIONS_CLIENT_KWARGS__ENDPOINT_URL``; a
    second repository pulls with the same variables; `remote rm` says to unset them."""
    put_dataset(cli, repo_dir)
    env = {
        **bare_s3_env(s3_server),
        "ARTCTL_REMOTE_ORIGIN_URL": s3_bucket,
        "ARTCTL_REMOTE_ORIGIN_OPTIONS_CLIENT_KWARGS__ENDPOINT_URL": s3_server.endpoint_url,
        "ARTCTL_REMOTE_ORIGIN_OPTIONS_KEY": S3_KEY,
        "ARTCTL_REMOTE_ORIGIN_OPTIONS_SECRET": S3_SECRET,
    }
    assert cli.ok("push", "--json", env=env).json()["remote"] == "origin"
    assert config_text(repo_dir) == ""  # nothing was written
    other = tmp_path / "other"
    other.mkdir()
    cli.ok("init", cwd=other)
    cli.ok("pull", "--all", cwd=other, env=env)
    cli.ok("artifact", "get", "proj/ds:v0", "--root", "out", cwd=other, env=env)
    assert (other / "out" / "a.txt").read_text() == "alpha\n"
    [spec] = cli.ok("remote", "ls", "--json", env=env).json()
    assert spec["default"] is True and spec["options"]["client_kwargs"] == {
        "endpoint_url": s3_server.endpoint_url
    }
    rm = cli.fails("remote", "rm", "origin", env=env)
    assert "comes from the environment (ARTCTL_REMOTE_ORIGIN_URL)" in rm.stderr and "unset" in rm.stderr
    # Two remotes: core.default_remote (here from its own variable) picks one.
    two = {**env, "ARTCTL_REMOTE_BACKUP_URL": (tmp_path / "backup").as_uri()}
    assert "none is the default" in cli.fails("push", env=two).stderr
    backup = cli.ok("push", "--json", env={**two, "ARTCTL_CORE_DEFAULT_REMOTE": "backup"}).json()
    assert backup["remote"] == "backup" and (tmp_path / "backup" / "FORMAT").exists()


@pytest.mark.parametrize(
    ("variable", "name", "key"),
    [
        ("ARTCTL_REMOTE_MY_STORE_OPTIONS_ANON", "my-store", "anon"),
        (
            "ARTCTL_REMOTE_MY_STORE_OPTIONS_CONFIG_KWARGS__MAX_POOL_CONNECTIONS",
            "my-store",
            "config_kwargs.max_pool_connections",
        ),
    ],
)
def test_variable_names_map_to_remote_names_and_keys(
    cli, repo_dir: Path, variable: str, name: str, key: str
) -> None:  # type: ignore[no-untyped-def]
    """NAME: upper-cased, `-` as `_`; KEY: `__` for a nested key's `.`; values typed as -o."""
    cli.ok("remote", "add", name, "s3://bucket/p")
    [spec] = cli.ok("remote", "ls", "--json", env={variable: "true" if key == "anon" else "10"}).json()
    assert spec["sources"][f"options.{key}"] == variable
    node = spec["options"]
    for part in key.split("."):
        node = node[part]
    assert node is True if key == "anon" else node == 10
