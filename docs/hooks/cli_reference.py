"""MkDocs hook: the command-line reference, generated from the argument parser itself, so
that it never drifts from ``autoencoders --help``. Replaces ``<!-- cli-reference -->``."""

from __future__ import annotations

import os

MARKER = "<!-- cli-reference -->"


def _reference() -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal's width
    from autoencoders.cli.commands import COMMANDS
    from autoencoders.cli.parser import build_parser, verb_parsers

    parser = build_parser()
    verbs = verb_parsers(parser)
    parts = ["## autoencoders", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name in COMMANDS:
        parts += [f"## autoencoders {name}", "", "```text",
                  verbs[name].format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return markdown.replace(MARKER, _reference()) if MARKER in markdown else markdown
