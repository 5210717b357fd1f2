"""Which references of a version ``get`` may follow: the policy for references from a remote.

A reference logged here is the user's own choice. A reference that arrived in a manifest pulled
from a remote was chosen by whoever could write to that remote: followed blindly, a
``file:///home/me/.ssh/id_rsa`` or ``http://169.254.169.254/…`` entry would copy this machine's
secrets, or answers of its internal network (SSRF), into the checkout. So, for a version whose
manifest came from a remote (``Repository.manifest_origin``):

* an entry without a recorded state (logged with ``checksum=False``) is refused: there is
  nothing to verify the bytes against;
* ``file://`` entries and ``http(s)://`` entries whose host is, or resolves to, a loopback,
  link-local or unspecified address are refused unless the user allows them
  (``references.allow_local = true`` or ``artifact get --allow-local-refs``).

Everything is decided before ``get`` writes or fetches anything.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlparse

from artctl.errors import UntrustedReference
from artctl.format.manifest import Entry
from artctl.references import is_checked

ALLOW_LOCAL_KEY = "references.allow_local"


def check_followable(entries: Iterable[Entry], origin: str | None, *, allow_local: bool, what: str) -> None:
    """Refuse (UntrustedReference) the first reference of ``what`` that the policy forbids.

    ``origin`` is the remote the manifest came from, None for a manifest made here (then
    every reference is followed, as the user logged it).
    """
    if origin is None:
        return
    local_hosts: dict[str, bool] = {}
    for entry in entries:
        if entry.ref is None:
            continue
        source = f"{what} came from remote {origin}, and its reference {entry.path} ({entry.ref})"
        if not is_checked(entry):
            raise UntrustedReference(
                f"{source} was logged without checksum: there is no recorded state to verify it against",
                hint="`artctl artifact get --refs-only` lists its URI to fetch yourself if you trust it, "
                "or ask its author to log it with checksums",
            )
        if allow_local:
            continue
        if _is_local(entry.ref, local_hosts):
            raise UntrustedReference(
                f"{source} points at this machine or its local network (file://, loopback, link-local)",
                hint=f"if you trust that remote, allow it: `artctl config {ALLOW_LOCAL_KEY} true` "
                "or `artctl artifact get --allow-local-refs`",
            )


def _is_local(uri: str, cache: dict[str, bool]) -> bool:
    """True for ``file://`` and for an HTTP(S) URL whose host is or resolves to a loopback,
    link-local or unspecified address (``localhost``, ``127.0.0.1``, ``[::1]``,
    ``169.254.169.254`` — the cloud metadata endpoint — or a name pointing there)."""
    scheme = uri.partition("://")[0].lower()
    if scheme == "file":
        return True
    if scheme not in ("http", "https"):
        return False
    try:
        host = urlparse(uri).hostname or ""
    except ValueError:
        return True  # unparsable: refuse rather than guess what urllib would connect to
    if host not in cache:
        cache[host] = _host_is_local(host)
    return cache[host]


def _host_is_local(host: str) -> bool:
    host = host.rstrip(".").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _address_is_local(host)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False  # does not resolve: the fetch fails on its own, reaching nothing
    return any(_address_is_local(str(info[4][0]).split("%", 1)[0]) for info in infos)


def _address_is_local(text: str) -> bool:
    """ValueError if ``text`` is not an IP address."""
    address = ipaddress.ip_address(text)
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_link_local or address.is_unspecified
