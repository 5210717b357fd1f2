"""One SDK client per remote configuration per process (artctl/backend/clients.py): a second
backend on the same remote reuses the first one's filesystem, and never across a change of
the credentials in the environment or after the reuse window."""

from __future__ import annotations

import pytest

from artctl.backend import clients, open_backend
from artctl.errors import RemoteError


def test_backends_on_one_remote_share_one_client(s3_server, s3_bucket: str) -> None:  # type: ignore[no-untyped-def]
    first = open_backend(s3_bucket, s3_server.storage_options)
    first.write("FORMAT", b"x")
    second = open_backend(s3_bucket, s3_server.storage_options)
    assert second.read("FORMAT") == b"x"
    assert second.fs is first.fs
    other_options = {**s3_server.storage_options, "default_block_size": 8 * 2**20}
    assert open_backend(s3_bucket, other_options).fs is not first.fs


def test_a_changed_credential_in_the_environment_gets_a_new_client(  # type: ignore[no-untyped-def]
    azure_server, azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azurite checks keys: a client built with the right key must not serve the wrong one."""
    good = azure_server.storage_options["connection_string"]
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", good)
    trusted = open_backend(azure_container, {})
    trusted.write("FORMAT", b"x")
    assert open_backend(azure_container, {}).read("FORMAT") == b"x"

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", good.replace("AccountKey=", "AccountKey=AAAA"))
    with pytest.raises(RemoteError, match="access denied"):
        open_backend(azure_container, {}).read("FORMAT")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", good)
    assert open_backend(azure_container, {}).fs is trusted.fs  # the same environment again


def test_a_client_is_reused_only_within_its_window(s3_server, s3_bucket: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = open_backend(s3_bucket, s3_server.storage_options)
    first.write("FORMAT", b"x")
    monkeypatch.setattr(clients, "REUSE_SECONDS", 0.0)
    second = open_backend(s3_bucket, s3_server.storage_options)
    assert second.read("FORMAT") == b"x"
    assert second.fs is not first.fs
