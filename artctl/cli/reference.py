"""The command reference as data, read from the click command tree, and rendered as Markdown.

One model (:class:`CommandDoc`) feeds the Markdown reference (``docs/cli.md``) and the man pages
(:mod:`artctl.cli.manpage`), so both say exactly what ``--help`` says. A command's help text is
parsed the way click formats it: the first paragraph is the summary; a paragraph starting with
``\\b`` is kept as written, and one whose first line is ``Example:``/``Examples:`` becomes the
examples section.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass, field

import click

from artctl.cli.group import walk

PROG = "artctl"


@dataclass(frozen=True)
class Block:
    """A paragraph of description: wrapped ``text`` or ``pre`` (kept line by line)."""

    kind: str
    text: str


@dataclass(frozen=True)
class ParamDoc:
    """One option or argument as ``--help`` shows it."""

    names: str  # "-v, --verbose" or "--name NAME" or "PATH"
    help: str
    argument: bool = False


@dataclass(frozen=True)
class CommandDoc:
    """Everything the reference says about one command."""

    path: tuple[str, ...]
    summary: str
    usage: str
    description: list[Block] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    arguments: list[ParamDoc] = field(default_factory=list)
    options: list[ParamDoc] = field(default_factory=list)
    subcommands: list[tuple[str, str]] = field(default_factory=list)
    epilog: list[Block] = field(default_factory=list)
    is_group: bool = False

    @property
    def full_name(self) -> str:
        """``artctl artifact put``."""
        return " ".join((PROG, *self.path))

    @property
    def page_name(self) -> str:
        """``artctl-artifact-put`` (man page and anchor name)."""
        return "-".join((PROG, *self.path))


def parse_help(text: str | None) -> tuple[str, list[Block], list[str]]:
    """``(summary, description blocks, example lines)`` of a click help text."""
    text = inspect.cleandoc(text or "").split("\f", 1)[0]
    blocks: list[Block] = []
    examples: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        if not para.strip():
            continue
        lines = para.split("\n")
        if lines[0].strip() == "\b":
            body = lines[1:]
            if body and body[0].strip().rstrip(":").lower() in ("example", "examples"):
                examples.extend(textwrap.dedent("\n".join(body[1:])).strip("\n").split("\n"))
            else:
                blocks.append(Block("pre", textwrap.dedent("\n".join(body)).strip("\n")))
        else:
            blocks.append(Block("text", " ".join(line.strip() for line in lines)))
    summary = ""
    if blocks and blocks[0].kind == "text":
        summary = blocks.pop(0).text
    return summary, blocks, examples


def _context(path: tuple[str, ...], root: click.Group) -> tuple[click.Context, click.Command]:
    ctx = click.Context(root, info_name=PROG, **root.context_settings)
    command: click.Command = root
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        ctx = click.Context(command, info_name=name, parent=ctx, **command.context_settings)
    return ctx, command


def _param_doc(param: click.Parameter, ctx: click.Context) -> ParamDoc | None:
    if isinstance(param, click.Option):
        record = param.get_help_record(ctx)
        if record is None:
            return None
        return ParamDoc(record[0], record[1])
    if isinstance(param, click.Argument):
        metavar = param.make_metavar(ctx)
        return ParamDoc(metavar, "", argument=True)
    return None


def _is_help(param: click.Parameter, ctx: click.Context) -> bool:
    """The automatic ``--help`` option, whatever click version names it (``help`` in 8.4,
    ``_click_default_help`` in 8.5): documented once for all commands, not on every page."""
    return isinstance(param, click.Option) and bool(set(param.opts) & set(ctx.help_option_names))


def command_doc(path: tuple[str, ...], root: click.Group) -> CommandDoc:
    """The reference entry of the command at ``path`` (``()`` is the root)."""
    ctx, command = _context(path, root)
    summary, description, examples = parse_help(command.help)
    params = [
        d
        for p in command.get_params(ctx)
        if (d := _param_doc(p, ctx)) is not None and (not path or not _is_help(p, ctx))
    ]
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    subcommands: list[tuple[str, str]] = []
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if not sub.hidden:
                subcommands.append((name, parse_help(sub.help)[0]))
    epilog = parse_help(command.epilog)
    epilog_blocks = ([Block("text", epilog[0])] if epilog[0] else []) + epilog[1]
    return CommandDoc(
        path=path,
        summary=summary,
        usage=usage,
        description=description,
        examples=examples,
        arguments=[p for p in params if p.argument],
        options=[p for p in params if not p.argument],
        subcommands=subcommands,
        epilog=epilog_blocks,
        is_group=isinstance(command, click.Group),
    )


def all_docs(root: click.Group | None = None) -> list[CommandDoc]:
    """Every visible command, root first, then depth-first in name order."""
    if root is None:
        from artctl.cli.main import cli

        root = cli
    return [command_doc(path, root) for path, _cmd in walk(root)]


# -- Markdown -----------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>|#])")


def md_escape(text: str) -> str:
    """Escape Markdown outside `code spans`, which are kept as they are."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(
        p if p.startswith("`") and p.endswith("`") and len(p) > 1 else _MD_SPECIAL.sub(r"\\\1", p)
        for p in parts
    )


def _anchor(doc: CommandDoc) -> str:
    return doc.page_name


def markdown(docs: list[CommandDoc]) -> str:
    """``docs/cli.md``: every command with its usage, options and examples."""
    from artctl import __version__

    out = [
        "# artctl command reference",
        "",
        f"Generated from the click command tree of artctl {__version__} by "
        "`python -m artctl.cli.generate`; do not edit by hand. The same text is in `artctl "
        "COMMAND --help`, `artctl help COMMAND` and the man pages in `man/`. JSON output: "
        "[cli-json.md](cli-json.md); configuration keys: [config.md](config.md); conventions "
        "(completion, progress, interruption): [cli-design.md](cli-design.md).",
        "",
        "## Commands",
        "",
    ]
    for doc in docs[1:]:
        indent = "  " * (len(doc.path) - 1)
        out.append(f"{indent}- [`{doc.full_name}`](#{_anchor(doc)}) — {md_escape(doc.summary)}")
    out.append("")
    for doc in docs:
        out += [
            f'<a id="{_anchor(doc)}"></a>',
            "",
            f"## `{doc.full_name}`",
            "",
            md_escape(doc.summary),
            "",
            "```",
            doc.usage,
            "```",
            "",
        ]
        for block in doc.description:
            if block.kind == "pre":
                out += ["```", block.text, "```", ""]
            else:
                out += [md_escape(block.text), ""]
        if doc.arguments:
            out += ["Arguments: " + ", ".join(f"`{a.names}`" for a in doc.arguments), ""]
        if doc.options:
            out += ["Options:", ""]
            for opt in doc.options:
                line = f"- `{opt.names}`"
                if opt.help:
                    line += f": {md_escape(opt.help)}"
                out.append(line)
            out.append("")
        if doc.subcommands:
            out += ["Commands:", ""]
            for name, summary in doc.subcommands:
                sub = "-".join((doc.page_name, name))
                out.append(f"- [`{name}`](#{sub}) — {md_escape(summary)}")
            out.append("")
        if doc.examples:
            out += [
                "Example:" if len([e for e in doc.examples if e.strip()]) == 1 else "Examples:",
                "",
                "```sh",
                *doc.examples,
                "```",
                "",
            ]
        for block in doc.epilog:
            out += ["```", block.text, "```", ""] if block.kind == "pre" else [md_escape(block.text), ""]
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
