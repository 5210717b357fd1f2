"""``artctl ui``: browse artifacts, versions, runs and lineage in a local web page."""

from __future__ import annotations

import click

from artctl.cli.common import get_output, open_repo
from artctl.cli.complete import RefOrRunType

DEFAULT_PORT = 8765


@click.command("ui")
@click.argument("target", metavar="[REF]", required=False, type=RefOrRunType())
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Keep the loopback default unless you know why not.",
)
@click.option("--no-open", is_flag=True, help="Do not open a web browser.")
@click.option(
    "--allow-edit", is_flag=True, help="Allow editing aliases, descriptions, metadata and TTL from the page."
)
@click.option(
    "--no-token",
    is_flag=True,
    help="Serve without an access token: any local user or process can then read "
    "(and with --allow-edit, edit) the repository.",
)
def ui_cmd(target: str | None, port: int, host: str, no_open: bool, allow_edit: bool, no_token: bool) -> None:
    """Serve the repository as a local web page until Ctrl-C.

    Prints the URL on stdout and opens it in a browser when one is available; with REF (a
    version, or run:ID) the URL opens that lineage graph. The server is read-only unless
    --allow-edit is given, answers only requests addressed to a loopback name, and never
    serves a file of the repository itself.

    Every request needs the server's access token, a random one per start (as Jupyter's): the
    printed URL carries it (http://127.0.0.1:8765/?token=...), the page then keeps it in a
    cookie; scripts send the header "Authorization: Token TOKEN". Set ARTCTL_UI_TOKEN to choose
    the token (at least 16 characters of A-Z a-z 0-9 . _ ~ -); --no-token serves without one.

    \b
    Examples:
      artctl ui
      artctl ui demo/clean-images:v0
      artctl ui --port 9000 --no-open
      artctl ui --allow-edit
      ARTCTL_UI_TOKEN=$(cat ~/.artctl-ui-token) artctl ui --no-open
    """
    import os

    from artctl.ui.auth import token_from
    from artctl.ui.serve import serve, start_page

    token = None if no_token else token_from(os.environ)
    repo = open_repo()
    out = get_output()
    page = start_page(repo, target) if target else ""
    serve(
        repo.root,
        host=host,
        port=port,
        open_browser=not no_open,
        allow_edit=allow_edit,
        token=token,
        announce=out.result,
        info=out.info,
        warn=out.warn,
        page=page,
    )


def register(group: click.Group) -> None:
    group.add_command(ui_cmd)
