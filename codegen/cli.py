"""Command line: `codegen scan | emit | apply | check | sync | demo`. Never imports TensorFlow."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from codegen import __version__
from codegen.config import Config, apply_overrides, load_config, validate_config
from codegen.gcpause import freeze_after_pauses
from codegen.paths import display_path

EXIT_HELP = """\
exit codes:
  0  nothing to do: the scan is clean, or everything is already up to date
  1  something changed or would change (emit/apply/sync wrote files; check found
     stale, missing or orphaned outputs or unrouted models), or scan skipped a file
     it could not read or parse
  2  usage, configuration or input error (bad flag, bad [tool.codegen], refused to
     overwrite a hand-edited generated file, unsafe output path)
"""

COMMANDS = {
    "scan": "find shared layer builders and shared trunks; print the report",
    "emit": "write generated/layers_common.py and one <model>_transfer.py per sharing model",
    "apply": "route each model's shared builders and build function through its shim",
    "check": "fail (exit 1) when generated/ or the models are out of date; writes nothing",
    "sync": "emit + apply in one run (the pre-commit hook); exits 1 when it wrote anything",
    "demo": "scan, emit and apply a copy of models/, then a real A-to-B transfer with its report",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codegen",
        description="layershare: share early-layer weights between TensorFlow models.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"codegen {__version__}")
    parser.add_argument(
        "--config", type=Path, help="pyproject.toml to read (default: nearest one upwards)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "demo":
            sub.add_argument(
                "--keep", type=Path, help="work in this folder instead of a temporary one"
            )
            sub.add_argument(
                "--models", type=Path, default=None, help="models folder (default: bundled models/)"
            )
            continue
        # Flags a subcommand lacks read as off, so the options are built the same for all.
        sub.set_defaults(json=False, check=False, diff=False, force=False, html=None, report=None)
        sub.add_argument(
            "paths", nargs="*", help="files or folders (default: [tool.codegen] paths, or models/)"
        )
        sub.add_argument("--output", help=f"output folder (default: {Config.output})")
        sub.add_argument(
            "--exclude", action="append", default=None, metavar="GLOB", help="skip matching paths"
        )
        sub.add_argument(
            "--jobs", type=int, default=None, metavar="N", help="parser processes (0 = auto)"
        )
        sub.add_argument(
            "--no-cache", action="store_true", help="ignore and do not update the scan cache"
        )
        sub.add_argument("--build-function", help="regex for a model's build function name")
        sub.add_argument("--collection", help="graph collection for transferable variables")
        sub.add_argument("--scope-prefix", help="variable scope holding every canonical key")
        if name == "scan":
            sub.add_argument("--json", action="store_true", help="print the schema-1 JSON report")
            sub.add_argument(
                "--format",
                choices=("text", "json", "mermaid"),
                default="text",
                help="what to print: the text report, the JSON (as --json), or the shared trunks "
                "as a Mermaid flowchart (GitHub renders it)",
            )
            sub.add_argument(
                "--html", metavar="PATH", help="also write the report as one self-contained page"
            )
        if name == "check":
            sub.add_argument(
                "--report",
                metavar="PATH",
                help="also write what changed in the shared trunks: HTML for a .html PATH, "
                "else Markdown with a Mermaid diagram",
            )
        if name in ("emit", "apply", "check", "sync"):
            sub.add_argument(
                "--diff", action="store_true", help="print a unified diff of what would change"
            )
        if name in ("emit", "apply"):
            sub.add_argument(
                "--check",
                action="store_true",
                help="write nothing; exit 1 if anything would change",
            )
        if name in ("emit", "sync"):
            sub.add_argument(
                "--force", action="store_true", help="overwrite generated files edited by hand"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    if argv is None:  # a process of its own (the console script, `python -m codegen`)
        freeze_after_pauses()
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return int(exit_request.code or 0) if exit_request.code in (0, None) else 2
    if args.command == "demo":
        from codegen.demo import run_demo  # only the demo touches TensorFlow, in a subprocess

        return run_demo(keep=args.keep, models=args.models)
    config, problems = load_config(Path.cwd(), args.config)
    if problems:
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        return 2
    config = apply_overrides(
        config,
        output=args.output,
        exclude=tuple(args.exclude) if args.exclude else None,
        jobs=args.jobs,
        build_function=args.build_function,
        collection=args.collection,
        scope_prefix=args.scope_prefix,
    )
    invalid = validate_config(config, path="command line")
    if invalid:
        for problem in invalid:
            print(problem.format(), file=sys.stderr)
        return 2
    from codegen import commands

    options = commands.Options(
        command=args.command,
        # Path arguments are typed from the current folder; config paths are the project's.
        paths=tuple(_from_cwd(path, config.root) for path in args.paths) or tuple(config.paths),
        use_cache=not args.no_cache,
        jobs=args.jobs,
        json=args.json or getattr(args, "format", "") == "json",
        mermaid=getattr(args, "format", "") == "mermaid",
        html=os.path.abspath(args.html) if args.html else None,
        report=os.path.abspath(args.report) if args.report else None,
        check=args.check,
        diff=args.diff,
        force=args.force,
    )
    try:
        return commands.run(options, config)
    except KeyboardInterrupt:
        print(
            "codegen: interrupted; nothing half-written is left (writes are journaled)",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # The reader went away (`codegen scan | head`): not an error of ours; as SIGPIPE would.
        with contextlib.suppress(OSError, ValueError):  # no real stdout: nothing to silence
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a hook must never spray a traceback; CODEGEN_DEBUG=1 shows it
        if os.environ.get("CODEGEN_DEBUG"):
            raise
        print(
            f"codegen: internal error: {type(error).__name__}: {error} "
            "(set CODEGEN_DEBUG=1 for the "
            "traceback and please report it)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())


def _from_cwd(path: str, root: str) -> str:
    """A path argument as the scanner takes it: relative to the project root (may start `..`)."""
    # Against the current folder, as a shell user means it.
    return display_path(os.path.abspath(path), root)
