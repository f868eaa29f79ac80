"""Command-line interface: `exolrs demo | simulate | ...`.

Every command turns an `ExolrsError` into one red line on stderr and exit status 2, with no
traceback.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from exolrs import __version__
from exolrs.errors import ExolrsError

app = typer.Typer(
    help="exolrs: reduce JWST MIRI/LRS slitless time series, from uncal ramps to spectra.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, soft_wrap=True)
console = Console()


def friendly(func):
    """Report user errors as one clear line and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ExolrsError as exc:
            err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print(
                "[yellow]interrupted[/yellow]: finished products are kept; run the same command "
                "again to resume."
            )
            raise typer.Exit(2) from None

    return wrapper


def progress_bar(description: str) -> Progress:
    """A rich progress bar (silent when stderr is not a terminal and CI is set)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def _simulate(
    outdir: Path, preset: str, seed: int, workers: int, config: Path | None = None
) -> dict:
    from exolrs.config import read_yaml_mapping
    from exolrs.simulate import PRESETS, simulate_tso
    from exolrs.simulate.config import preset as preset_config
    from exolrs.simulate.config import with_overrides

    if preset not in PRESETS:
        raise ExolrsError(
            f"unknown simulation preset {preset!r}; choose one of {', '.join(PRESETS)}"
        )
    cfg = preset_config(preset, seed=seed)
    if config is not None:
        _, overrides = read_yaml_mapping(
            config,
            "simulation overrides",
            "give a YAML file of preset fields",
            "a mapping of sections (section: {field: value})",
        )
        cfg = with_overrides(cfg, overrides, str(config))
    from exolrs.io.products import ensure_writable_dir

    ensure_writable_dir(outdir)
    with progress_bar("simulate") as bar:
        task = bar.add_task(f"simulating {preset}", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return simulate_tso(outdir, config=cfg, workers=workers, progress=tick)


@app.command()
@friendly
def simulate(
    outdir: Annotated[Path, typer.Argument(help="Directory to write the observation into.")],
    preset: Annotated[
        str, typer.Option("--preset", "-p", help="tiny | small | medium | program2783")
    ] = "small",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 42,
    workers: Annotated[int, typer.Option(help="Processes generating integrations.")] = 2,
    config: Annotated[
        Path | None,
        typer.Option(
            help="YAML overriding the preset: sections planet, systematics, detector, scene "
            "(e.g. `systematics: {red_noise_ppm: 300}`) and nints, ngroups.",
        ),
    ] = None,
) -> None:
    """Simulate a MIRI/LRS slitless TSO (uncal segments, CRDS-format references, truth)."""
    if workers < 1:
        raise ExolrsError(f"--workers {workers}: give 1 or more worker processes")
    result = _simulate(outdir, preset, seed, workers, config)
    console.print(
        f"wrote {len(result['uncal'])} uncal segment(s) ({result['nints']} integrations × "
        f"{result['ngroups']} groups), {len(result['refs'])} reference files and the truth "
        f"to {outdir} in {result['seconds']:.1f} s"
    )
    console.print(f"run file: {result['config']}")


def _run_config(
    config: Path, stages: list[int], force_redo: bool, workers: int | None, scheduler: str | None
) -> dict:
    from exolrs.config import load_config
    from exolrs.pipeline import run_pipeline

    cfg = load_config(config)
    if workers is not None and workers < 1:
        raise ExolrsError(f"--workers {workers}: give 1 or more worker processes")
    if workers is not None:
        cfg.parallel.workers = workers
        if workers > 1 and cfg.parallel.backend == "serial":
            cfg.parallel.backend = "processes"
    if scheduler:
        cfg.parallel.backend = "dask"
        cfg.parallel.scheduler = scheduler
    with progress_bar("run") as bar:
        tasks: dict[str, int] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return run_pipeline(cfg, stages, force_redo=force_redo, progress=tick)


def _report_stages(record: dict, outdir: Path) -> None:
    for warning in record.get("warnings", []):
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for note in record.get("notes", []):
        console.print(f"[cyan]note:[/cyan] {note}", highlight=False)
    for stage, info in record["stages"].items():
        console.print(
            f"[green]Stage {stage}[/green]: {len(info['products'])} product(s) in "
            f"{info['wall_s']:.1f} s → {Path(info['products'][0]).parent}"
        )
    console.print(f"run record: {outdir / 'run.json'}")


@app.command("init-config")
@friendly
def init_config(
    path: Annotated[Path, typer.Argument(help="File to write.")] = Path("exolrs.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write an annotated run-file template (every key, its default and meaning)."""
    from exolrs.config import template

    if path.exists() and not force:
        raise ExolrsError(f"{path} exists; use --force to overwrite it")
    try:
        path.write_text(template())
    except OSError as exc:
        raise ExolrsError(f"cannot write {path}: {exc.strerror}") from None
    console.print(f"wrote {path}; edit `input:` and run `exolrs run {path}`")


@app.command()
@friendly
def run(
    config: Annotated[Path, typer.Argument(help="Run file (YAML).")],
    stages: Annotated[str, typer.Option(help="Comma-separated stages to run.")] = "1,2,3,4",
    force_redo: Annotated[bool, typer.Option("--force-redo", help="Recompute products.")] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="dask scheduler address, tcp://host:port.")
    ] = None,
) -> None:
    """Run the stages of a reduction described by a run file."""
    try:
        wanted = [int(s) for s in stages.split(",") if s.strip()]
    except ValueError:
        raise ExolrsError(f"--stages takes numbers like 1,2,3,4; got {stages!r}") from None
    record = _run_config(config, wanted, force_redo, workers, scheduler)
    _report_stages(record, Path(record["parameters"]["output_dir"]))


@app.command()
@friendly
def demo(
    outdir: Annotated[Path, typer.Argument(help="Where to put the demo.")] = Path("exolrs_demo"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
) -> None:
    """Simulate a `small` observation and reduce it with every stage built so far."""
    result = _simulate(outdir, "small", seed, 2)
    console.print(
        f"[green]simulated[/green] {result['nints']} integrations × {result['ngroups']} groups "
        f"in {result['seconds']:.1f} s → {outdir}/uncal"
    )
    from exolrs.pipeline import AVAILABLE_STAGES

    record = _run_config(result["config"], list(AVAILABLE_STAGES), False, None, None)
    _report_stages(record, Path(record["parameters"]["output_dir"]))
    s4 = record["stages"].get("4", {})
    metrics = s4.get("truth_metrics") or {}
    if metrics:
        from exolrs.stage4.accuracy import summary

        console.print(
            f"transmission spectrum vs injected truth: {summary(metrics)} → {s4['products'][0]}"
        )
    from exolrs.report import build_report

    console.print(f"[green]report[/green]: {build_report(record['parameters']['output_dir'])}")


@app.command()
@friendly
def quicklook(
    files: Annotated[list[Path], typer.Argument(help="uncal segments (or a folder).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Figure/table name.")] = Path(
        "quicklook"
    ),
) -> None:
    """White light curve straight from the raw ramps (PNG + ECSV), before any reduction."""
    from exolrs.quicklook import quicklook as run_quicklook

    with progress_bar("quicklook") as bar:
        task = bar.add_task("reading ramps", total=None)
        png, table = run_quicklook(
            files, output, progress=lambda d, n: bar.update(task, completed=d, total=n)
        )
    console.print(f"wrote {png} and {table}")


@app.command()
@friendly
def report(
    run_dir: Annotated[Path, typer.Argument(help="output_dir of a finished run.")],
    output: Annotated[
        Path | None, typer.Option(help="HTML file (default RUN_DIR/report.html)")
    ] = None,
) -> None:
    """One self-contained HTML page with every figure, the fits and the run's record."""
    from exolrs.report import build_report

    console.print(f"wrote {build_report(run_dir, output)}")


@app.command()
@friendly
def fetch(
    program: Annotated[int, typer.Option(help="JWST program ID, e.g. 2783.")],
    target: Annotated[str | None, typer.Option(help="Target name, e.g. WASP-39b.")] = None,
    instrument: Annotated[str, typer.Option(help="MAST instrument name.")] = "MIRI/SLITLESS",
    filter: Annotated[str, typer.Option("--filter", help="Filter.")] = "P750L",
    dir: Annotated[Path, typer.Option("--dir", help="Download folder.")] = Path("DMS_uncal"),
) -> None:
    """Download the program's *_uncal.fits segments from MAST (resumable)."""
    from exolrs.fetch import download_files, plan_downloads, query_uncal_products

    items = plan_downloads(query_uncal_products(program, target, instrument, filter))
    total = sum(i.size or 0 for i in items) or None
    with progress_bar("fetch") as bar:
        task = bar.add_task(f"{len(items)} files", total=total)
        paths = download_files(items, dir, lambda n: bar.advance(task, n))
    console.print(f"downloaded {len(paths)} uncal segment(s) to {dir}")


@app.command()
def version() -> None:
    """Print the exolrs version."""
    console.print(__version__)


def main() -> None:
    """Entry point of the `exolrs` script."""
    app(prog_name="exolrs")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
