"""The ``stance`` command line: one thin command per stage of the flow.

Each command parses its options, calls one function of a stage module and prints what it
did. A user's mistake ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .corpus import CsvColumns, Rejected, iter_articles
from .errors import AnnotateError
from .files import Progress, atomic_write, write_jsonl
from .labeling import labeling_config
from .scheme import DEFAULT_SCHEME_PATH, load_scheme
from .sentences import SPLITTER
from .tasks import write_tasks


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="seed-format .txt files, .jsonl or .csv files, or folders of them (recursive)",
    )
    group = parser.add_argument_group("CSV columns")
    group.add_argument("--text-column", default="text", help="column with the article text (default: text)")
    group.add_argument("--id-column", default="id", help="column with the article id (default: id)")
    group.add_argument("--date-column", help="column with the article date (YYYY-MM-DD)")
    group.add_argument("--title-column", help="column with the article title")
    parser.add_argument(
        "--rejects", metavar="FILE",
        help="write records that cannot be read here (JSON lines, with the reason) and go on; "
        "without it the first bad record stops the run",
    )


def _add_scheme(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheme", metavar="FILE",
        help=f"label scheme file (default: the seeds' scheme, {DEFAULT_SCHEME_PATH.name})",
    )


def _read_articles(args: argparse.Namespace, rejects: list[Rejected]):
    columns = CsvColumns(text=args.text_column, id=args.id_column,
                         date=args.date_column, title=args.title_column)
    on_reject = rejects.append if args.rejects else None
    return iter_articles(args.inputs, columns=columns, on_reject=on_reject)


def _report_rejects(args: argparse.Namespace, rejects: list[Rejected], accepted: int, what: str) -> str:
    line = f"{accepted + len(rejects):,} {what} read: {accepted:,} accepted, {len(rejects):,} rejected"
    if args.rejects:
        write_jsonl((r.as_json() for r in rejects), args.rejects)
        line += f" (reasons in {args.rejects})"
    return line


def cmd_articles(args: argparse.Namespace) -> None:
    rejects: list[Rejected] = []
    with Progress("articles") as progress:
        def counted():
            for article in _read_articles(args, rejects):
                progress.advance()
                yield article
        n = write_jsonl(counted(), args.output)
    print(_report_rejects(args, rejects, n, "articles"))
    print(f"wrote {n:,} articles to {args.output}")


def cmd_tasks(args: argparse.Namespace) -> None:
    scheme = load_scheme(args.scheme)
    rejects: list[Rejected] = []
    with Progress("tasks") as progress:
        counts = write_tasks(
            _read_articles(args, rejects), args.output, scheme,
            context=args.context, language=args.language, on_task=progress.advance,
        )
    print(_report_rejects(args, rejects, counts.articles, "articles"))
    print(f"wrote {counts.sentences:,} tasks (one per sentence, split by {SPLITTER}) "
          f"for scheme {scheme.scheme} to {args.output}")


def cmd_config(args: argparse.Namespace) -> None:
    scheme = load_scheme(args.scheme)
    with atomic_write(args.output) as out:
        out.write(labeling_config(scheme))
    print(f"wrote the labeling config for {scheme.name!r} ({len(scheme.targets)} targets: "
          f"{', '.join(scheme.target_ids)}) to {args.output}")


def cmd_schemas(args: argparse.Namespace) -> None:
    from .contracts import write_contracts  # imports every model: only this command needs it

    scheme = load_scheme(args.scheme)
    for path in write_contracts(scheme, args.output):
        print(f"wrote {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stance",
        description="Stance and claim annotation of news: articles to Label Studio tasks and back.",
    )
    parser.add_argument("--version", action="version", version=f"stance {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _command(commands, cmd_articles, "articles", "FILE.jsonl",
                 "read articles and write one JSON line per article",
                 "Read articles (seed .txt, .jsonl, .csv, folders) and write one JSON line per "
                 "article: id, text, date, title, source, credit, sha256, origin.")
    _add_inputs(p)

    p = _command(commands, cmd_tasks, "tasks", "FILE.json",
                 "split articles into sentences and write a Label Studio import file",
                 "Split articles into sentences with exact offsets and stable ids and write a "
                 "Label Studio import file: a JSON list of {\"data\": {...}}, one task per sentence.")
    _add_inputs(p)
    _add_scheme(p)
    p.add_argument("--context", type=int, default=1, metavar="N",
                   help="sentences of context shown before and after (default: 1)")
    p.add_argument("--language", default="en", help="language code for the splitter (default: en)")

    p = _command(commands, cmd_config, "config", "FILE.xml",
                 "write the Label Studio labeling config for a scheme",
                 "Generate the Label Studio labeling config (XML) from a label scheme.")
    _add_scheme(p)

    p = _command(commands, cmd_schemas, "schemas", "DIR",
                 "write the JSON Schemas of our files and the labeling config",
                 "Write the JSON Schema of every record type stance writes, and the labeling "
                 "config, into a folder (the committed copies live in schemas/).")
    _add_scheme(p)
    return parser


def _command(commands, run, name: str, output: str | None, summary: str, description: str):
    """Add a sub-command that calls ``run(args)``; with ``output``, its ``-o`` option."""
    parser = commands.add_parser(name, help=summary, description=description)
    if output is not None:
        parser.add_argument("-o", "--output", required=True, metavar=output, help="where to write")
    parser.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "context", 0) < 0:
        parser.error("--context must be 0 or more")
    try:
        args.run(args)
    except AnnotateError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
