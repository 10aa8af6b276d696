"""Ingest commands: `ttsw ingest` and `ttsw grade`.

Heavy imports (duckdb, pyarrow, math-verify) happen inside the commands, so `ttsw --help`
stays instant.
"""

from __future__ import annotations

import click

from ingest.grading.extractors import EXTRACTORS
from warehouse.home import Home

pass_home = click.make_pass_decorator(Home)


@click.command()
@click.option("--run", "run_refs", multiple=True, metavar="RUN",
              help="Grade only this run (id, id prefix or name); repeat for several. Default: all runs.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Verifier processes.  [default: the usable CPU cores]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Seconds one (gold, answer) pair may take; a slower pair is killed and recorded as 'timeout'.")
@click.option("--extractor", type=click.Choice(list(EXTRACTORS)),
              help="Extract answers this way for every run.  [default: by each run's dataset]")
@click.option("--top-k", type=click.IntRange(min=2), default=16, show_default=True,
              help="Answers per problem (the most frequent) compared pairwise for clustering.")
@click.option("--compare-source", is_flag=True,
              help="Then report where our verdicts disagree with the source's own labels.")
@click.option("--progress/--no-progress", default=None,
              help="Show progress bars.  [default: when stderr is a terminal]")
@pass_home
def grade(home: Home, run_refs: tuple[str, ...], workers: int | None, timeout: float, extractor: str | None,
          top_k: int, compare_source: bool, progress: bool | None) -> None:
    """Extract, verify and cluster the answers of completions not graded yet.

    \b
    Each completion's answer is found by its dataset's extractor (boxed: the last \\boxed{...};
    gsm8k: "#### ..." or "The answer is ..."; choice: a letter), else by math-verify on the
    text's tail; each distinct (gold, answer) pair is verified once with math-verify and cached
    in `verdicts`, and each problem's equivalent answers are clustered, so grading again only
    does the work that new completions bring.
    """
    from ingest.grading.pipeline import grade as run_grade
    from ingest.grading.report import compare_source as compare
    from warehouse.runs import resolve_run

    home.require_lake()
    runs = [resolve_run(home, ref) for ref in run_refs] or None
    summary = run_grade(home, runs, workers=workers, timeout=timeout, top_k=top_k, progress=progress,
                        extractor=EXTRACTORS[extractor] if extractor else None)
    click.echo(summary.line())
    if compare_source:
        for line in compare(home, runs).lines():
            click.echo(line)


def _floats(values: tuple[str, ...]) -> list[float]:
    try:
        return [float(v) for item in values for v in item.split(",") if v.strip()]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--temperature") from None


class _FormatsListed(click.Command):
    """`ttsw ingest --help` ends with each reader's own description, so the list is never copied by hand."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ingest.readers import available

        with formatter.section("Formats (detected by content; --format NAME skips detection)"):
            formatter.write_dl([(reader.name, reader.description) for reader in available()])


@click.command(cls=_FormatsListed)
@click.argument("sources", nargs=-1, metavar="SOURCE...")
@click.option("--format", "fmt", metavar="FORMAT", help="Skip format detection (see the list below).")
@click.option("--registry", type=click.Path(exists=True, dir_okay=False), help="A registry YAML of categories.")
@click.option("--category", "categories", multiple=True, help="Registry categories to ingest (repeat or comma-separate).")
@click.option("--config", "configs", multiple=True,
              help="Filter: only these configs (search-and-learn subset names); repeatable. Sets nothing.")
@click.option("--seed", "seeds", multiple=True, type=int,
              help="Filter: only runs whose source says this seed; repeatable. To state a seed the source "
                   "lacks, use --meta seed=S.")
@click.option("--temperature", "temperatures", multiple=True,
              help="Filter: only runs whose source says this temperature; repeatable. To state one the source "
                   "lacks, use --meta temperature=T.")
@click.option("--revision", help="Hub revision (branch, tag or commit) to read.")
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE",
              help="State a runs column the source lacks, e.g. --meta temperature=0.8 --meta seed=42 "
                   "--meta prm_model=RLHFlow/Llama3.1-8B-PRM-Deepseek-Data; repeatable. A value the source "
                   "states otherwise is an error; one guessed from a file or folder name is replaced.")
@click.option("--dataset", help="Shorthand for --meta dataset=…: the dataset the problems are filed under.")
@click.option("--model", help="Shorthand for --meta model=…: the generator model.")
@click.option("--prm-model", help="Shorthand for --meta prm_model=…: the PRM that produced the step scores "
                                  "(default: what the source says, else 'unknown').")
@click.option("--embedding-model", help="Reasoning traces: the model that made the embeddings.")
@click.option("--samples", type=click.Path(exists=True), help="Rank logs: the lm-eval samples file they align to.")
@click.option("--embeddings", type=click.Path(exists=True, dir_okay=False), help="Reasoning traces: the .npy of embeddings.")
@click.option("--list", "list_only", is_flag=True, help="Show the runs the sources hold, download and write nothing.")
@click.option("--keep-going", is_flag=True, help="A run that fails does not stop the others (it stays 'failed').")
@click.option("--progress/--no-progress", default=None, help="Show progress.  [default: when stderr is a terminal]")
@pass_home
def ingest(home: Home, sources: tuple[str, ...], fmt: str | None, registry: str | None, categories: tuple[str, ...],
           configs: tuple[str, ...], seeds: tuple[int, ...], temperatures: tuple[str, ...], revision: str | None,
           meta: tuple[str, ...], dataset: str | None, model: str | None, prm_model: str | None, embedding_model: str | None,
           samples: str | None, embeddings: str | None, list_only: bool,
           keep_going: bool, progress: bool | None) -> None:
    """Bring runs produced elsewhere into the lake: files, folders, or hf://org/repo Hub datasets.

    The format is detected (override with --format); re-ingesting the same source changes nothing.
    Ends with a summary: runs written, rows per table, rows skipped and why.

    Filters (--config, --seed, --temperature) only choose among the runs a source holds; --meta
    states what a source lacks. The formats are listed below.
    """
    import sys

    from ingest.metadata import parse_given
    from ingest.registry import category_sources
    from ingest.runner import ingest as run_ingest

    if bool(registry) != bool(categories):
        raise click.UsageError("--registry and --category go together")
    given = parse_given(meta, {"dataset": dataset, "model": model, "prm_model": prm_model})
    options = {"configs": list(configs), "seeds": list(seeds), "temperatures": _floats(temperatures),
               "revision": revision, "embedding_model": embedding_model, "samples": samples,
               "embeddings": embeddings,
               **{k: given[k] for k in ("dataset", "model", "prm_model") if k in given}}
    groups: list[tuple[str | None, list[str]]] = [(None, list(sources))] if sources else []
    if registry:
        pairs = category_sources(registry, list(categories))
        for category in dict.fromkeys(c for c, _ in pairs):
            groups.append((category, [s for c, s in pairs if c == category]))
    if not groups:
        raise click.UsageError("give at least one SOURCE, or --registry with --category")
    show = sys.stderr.isatty() if progress is None else progress
    if list_only:
        _list(groups, fmt, options)
        return
    for category, group_sources in groups:
        summary = run_ingest(home, group_sources, fmt=fmt, options={**options, "category": category},
                             progress=show, keep_going=keep_going, given=given)
        if category:
            click.echo(f"category {category}:")
        for line in summary.lines():
            click.echo(line)
        if len(summary.failed) == 1:
            raise click.ClickException(f"{summary.failed[0]} (the run stays 'failed' in the lake; "
                                       "fix the source and ingest it again)")
        if summary.failed:
            raise click.ClickException(f"{len(summary.failed)} runs failed (listed above); they stay 'failed' "
                                       "in the lake: fix the sources and ingest them again")


def _list(groups, fmt: str | None, options: dict) -> None:
    """What each source holds; a source that cannot be read says why in one line and the rest go on."""
    from ingest.readers import get_reader, route
    from warehouse.errors import WarehouseError

    failed = 0
    for category, group_sources in groups:
        if category:
            click.echo(f"category {category}:")
        for given_source in group_sources:
            try:
                pairs, passed_over = ([(given_source, get_reader(fmt))], []) if fmt else route(given_source)
            except WarehouseError as exc:
                click.echo(f"{given_source}  [unreadable] {exc}")
                failed += 1
                continue
            for source, reader in pairs:
                try:
                    listings = list(reader.list_runs(source, options))
                except WarehouseError as exc:
                    click.echo(f"{source}  [unreadable] {exc}")
                    failed += 1
                    continue
                click.echo(f"{source}  [{reader.name}]")
                for listing in listings:
                    details = ", ".join(f"{k}={v}" for k, v in listing.details.items() if v not in (None, "", []))
                    click.echo(f"  {listing.name}" + (f"  ({details})" if details else ""))
            for path in passed_over:
                click.echo(f"{path}  [passed over: no known format]")
    if failed:
        raise click.ClickException(f"{failed} source(s) could not be listed (above)")
