"""Options from a TOML file (``--config FILE.toml``) and the options of a run written as
one: keys are the flags' names, values go through the same checks as on the command line."""

from __future__ import annotations

import argparse
from typing import Any

from .parser import PROG, UsageError, build_parser, verb_parsers

__all__ = ["with_config", "config_text", "resume_args", "RESUME_OPTIONS"]

#: Options that ``fit --resume`` accepts besides RUN_DIR; all others come from the run.
RESUME_OPTIONS = ("command", "resume", "quiet", "verbose", "debug", "config")


def with_config(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` with the options of its ``--config FILE.toml`` (read with tomllib) put right
    after the verb, before the command line's own options, which therefore win.

    Keys are the verb's flag names without dashes in front (``latent-dim``; ``latent_dim``
    and the option's Python name, e.g. ``neighbour_map`` for ``--map``, work too); values
    are strings, numbers, booleans (a switch given or not) or lists (comma-joined). Each
    value then goes through the same checks as on the command line.

    Raises
    ------
    UsageError
        For a missing or unreadable file, invalid TOML, a table or a key that is not an
        option of the verb.
    """
    given = [i for i, a in enumerate(argv) if a == "--config" or a.startswith("--config=")]
    if not given:
        return argv
    if len(given) > 1:
        raise UsageError("--config given twice; put the options in one file (flags on the "
                         "command line still win over it)")
    at = given[0]
    if "=" in argv[at]:
        path, rest = argv[at].split("=", 1)[1], argv[:at] + argv[at + 1:]
    elif at + 1 < len(argv):
        path, rest = argv[at + 1], argv[:at] + argv[at + 2:]
    else:
        raise UsageError("--config needs a FILE.toml")
    import tomllib

    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except OSError as exc:
        raise UsageError(f"--config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"--config {path}: not UTF-8 text (byte {exc.start}: {exc.reason}); "
                         "save it as UTF-8") from None
    verb = next((a for a in rest if not a.startswith("-")), None)
    if verb not in verb_parsers(parser):
        raise UsageError(f"--config goes with a command, e.g. '{PROG} fit --config {path}'")
    assert verb is not None  # None is no verb: refused just above
    tokens = option_tokens(verb_parsers(parser)[verb], table, f"--config {path}")
    i = rest.index(verb) + 1
    return rest[:i] + tokens + rest[i:]


def option_tokens(sub: argparse.ArgumentParser, table: dict[str, Any], where: str) -> list[str]:
    """Command-line tokens of ``table`` for the verb parser ``sub``: keys are flag names
    without dashes (``latent-dim``, ``latent_dim``) or an option's Python name
    (``neighbour_map`` for ``--map``); a bool is a switch given (``--map``) or not
    (``--no-map`` for a switch that has one); a list is comma-joined (``HxW`` for an image
    size). ``where`` names the table's origin in errors.

    Raises
    ------
    UsageError
        For a key that is not an option of the verb, or a switch given a non-bool value.
    """
    by_flag = sub._option_string_actions
    by_dest = {a.dest: a for a in sub._actions}
    tokens: list[str] = []
    for key, value in table.items():
        action = by_flag.get("--" + key.replace("_", "-")) or by_dest.get(key)
        if action is None or not action.option_strings or isinstance(value, dict) \
                or action.dest in ("config", "help", "version"):
            raise UsageError(f"{where}: {key!r} is not an option of '{sub.prog.split()[-1]}' "
                             f"that a file can set (see '{sub.prog} --help')")
        if action.nargs == 0 and not isinstance(value, bool):
            raise UsageError(f"{where}: {key!r} is a switch: give true or false, not "
                             f"{value!r}")
        flag = next((o for o in action.option_strings if o.startswith("--")),
                    action.option_strings[0])
        if action.nargs == 0:  # a switch (its value is a bool, checked above)
            if isinstance(action, argparse.BooleanOptionalAction):
                tokens.append(flag if value else "--no-" + flag[2:])
            elif value:
                tokens.append(flag)
        elif isinstance(value, list):
            joint = "x" if action.dest == "image_size" else ","
            tokens += [flag, joint.join(str(v) for v in value) or "none"]
        else:  # a bool for a valued option reaches its type check as "true"/"false"
            tokens += [flag, str(value).lower() if isinstance(value, bool) else str(value)]
    return tokens


def config_text(parser: argparse.ArgumentParser, verb: str, options: dict[str, Any]) -> str:
    """``options`` (an argparse namespace's dict) as the TOML that ``--config`` reads back:
    keys are the verb's flag names; options that are None, positionals, the common
    options (quiet, verbose, debug, config) and where to write (out, resume, force: a
    recipe reused must not aim at the run it came from) are left out."""
    skip = {"quiet", "verbose", "debug", "config", "help", "version", "print_completion",
            "out", "resume", "force"}
    flags = {a.dest: next(o for o in a.option_strings if o.startswith("--"))[2:]
             for a in verb_parsers(parser)[verb]._actions
             if a.option_strings and a.dest not in skip
             and any(o.startswith("--") for o in a.option_strings)}
    lines = []
    for dest, value in options.items():
        if dest not in flags or value is None:
            continue
        lines.append(f"{flags[dest]} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    import json
    import math

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):  # TOML's nan, inf, -inf
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def resume_args(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments the interrupted run in ``args.resume`` was started with, parsed anew
    from its saved options, so that a damaged file gets the checks of a command line."""
    from ..workflow import read_command

    parser = build_parser()  # ~100 options' worth of argparse: built once
    given = vars(args)
    defaults = vars(parser.parse_args(["fit", "--resume", args.resume]))
    extra = [k for k, v in given.items() if k not in RESUME_OPTIONS and v != defaults.get(k)]
    if extra:
        raise UsageError(f"--resume takes the options of the run it continues; drop "
                         f"--{extra[0].replace('_', '-')}")
    options = {k: v for k, v in read_command(args.resume).items()
               if k not in RESUME_OPTIONS and v is not None}
    try:
        argv = ["fit", *option_tokens(verb_parsers(parser)["fit"], options,
                                      f"{args.resume}: saved option")]
        saved = parser.parse_args(argv)
    except UsageError as exc:
        raise ValueError(f"{args.resume}: its saved options are damaged ({exc}); start the "
                         "run again") from None
    return argparse.Namespace(**{**vars(saved), "quiet": args.quiet, "verbose": args.verbose,
                                 "resume": args.resume, "out": args.resume, "force": True})
