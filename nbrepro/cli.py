"""The ``nbrepro`` command line (thin glue over the core modules)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from nbrepro._version import __version__
from nbrepro.errors import NbreproError


def _resolve_value(value: str) -> Any:
    """Type a ``-p NAME VALUE`` value the way papermill's CLI does."""
    if value == "True":
        return True
    if value == "False":
        return False
    if value == "None":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbrepro")
def main() -> None:
    """Reproducible notebook runs: capture to MLflow, re-execute, get a verdict."""


@main.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Papermill parameter (repeatable).",
)
@click.option("--experiment", "-e", default=None, help="MLflow experiment name.")
@click.option("--name", "-n", "run_name", default=None, help="Run name (default: notebook name).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the executed notebook.",
)
@click.option("--kernel", "-k", default=None, help="Kernel name (default: the notebook's).")
@click.option("--timeout", type=int, default=None, help="Per-cell timeout in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def run(
    notebook: str,
    parameters: tuple[tuple[str, str], ...],
    experiment: str | None,
    run_name: str | None,
    output: str | None,
    kernel: str | None,
    timeout: int | None,
    as_json: bool,
) -> None:
    """Execute NOTEBOOK with papermill and capture the run to MLflow."""
    from nbrepro.headless import run_notebook

    params = {name: _resolve_value(value) for name, value in parameters}
    try:
        result = run_notebook(
            notebook,
            parameters=params,
            experiment=experiment,
            run_name=run_name,
            output=output,
            kernel_name=kernel,
            progress=not as_json and sys.stderr.isatty(),
            timeout=timeout,
        )
    except NbreproError as exc:
        _fail(str(exc), 2 if "not found" in str(exc) or "not a readable" in str(exc) else 1)
        return
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1))
    else:
        click.echo(
            f"run {result.run_id} {result.status} in experiment "
            f"{result.experiment_name!r} ({result.tracking_uri})"
        )
        for read in result.record["data"]["reads"]:
            click.echo(f"  Delta {read['uri']} @ v{read['version']}")
        if result.output_path:
            click.echo(f"  executed notebook: {result.output_path}")
        if result.warning:
            click.echo(f"Warning: {result.warning}", err=True)
    if result.error is not None:
        err = result.error
        click.echo(
            f"Error: cell {err.cell_index} (execution {err.execution_count}) raised "
            f"{err.ename}: {err.evalue}",
            err=True,
        )
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sync(as_json: bool) -> None:
    """Upload captures saved while the tracking store was unreachable."""
    from nbrepro.spool import sync_all

    try:
        results = sync_all()
    except NbreproError as exc:
        _fail(str(exc), 2)
        return
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in results], indent=1))
    elif not results:
        click.echo("nothing to sync")
    for r in results if not as_json else []:
        click.echo(
            f"{r.capture_id}: "
            + (f"uploaded as run {r.run_id}" if r.ok else f"failed: {r.message}")
        )
    if any(not r.ok for r in results):
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(as_json: bool) -> None:
    """Show where runs are stored and how many captures wait for upload."""
    from nbrepro import paths, spool
    from nbrepro.tracking import display_uri, resolve_tracking_uri

    data = {
        "version": __version__,
        "tracking_uri": display_uri(resolve_tracking_uri()),
        "from_env": bool(os.environ.get("MLFLOW_TRACKING_URI")),
        "home": str(paths.nbrepro_home()),
        "spool": str(paths.spool_dir()),
        "pending_captures": len(spool.load_entries()),
    }
    if as_json:
        click.echo(json.dumps(data, indent=1))
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")


@main.command()
@click.option("--port", default=5000, show_default=True)
def ui(port: int) -> None:
    """Open the MLflow UI on nbrepro's tracking store (127.0.0.1)."""
    from nbrepro.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri()
    if uri.startswith(("http://", "https://")):
        click.echo(f"Runs are on a tracking server: open {uri}")
        return
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
    )


@main.command()
@click.option(
    "--dir",
    "workdir",
    default=".nbrepro-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to write the demo table and notebook.",
)
def demo(workdir: str) -> None:
    """Write a small Delta table, run a demo notebook with %%repro, print the run."""
    from nbrepro.demo import run_demo

    try:
        summary = run_demo(workdir)
    except NbreproError as exc:
        _fail(str(exc), 1)
        return
    click.echo(summary)


if __name__ == "__main__":
    main()
