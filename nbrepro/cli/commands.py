"""The ``nbrepro`` command line (thin glue over the core modules)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
import warnings
from typing import Any

import click

from nbrepro import paths
from nbrepro._version import __version__
from nbrepro.errors import KernelNotFound, NbreproError
from nbrepro.record.vocabulary import (
    CURRENT,
    DATA_MODES,
    ENV_MODES,
    EXIT_DIFFERS,
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RERUN_FAILED,
    PINNED,
    REPRODUCED,
    VERDICT_EXIT,
)


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


def _json_only_stdout(as_json: bool) -> contextlib.AbstractContextManager[Any]:
    """With ``--json``, send whatever else prints to stdout to stderr instead.

    MLflow prints "View run ... at: URL" on stdout when a run on a tracking server
    ends; mixed into the JSON, it would make the output unreadable (a rerun job
    would then fail for want of a report).
    """
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


# Exit code when nbrepro itself fails unexpectedly: a failed run, a failed rerun.
_INTERNAL_ERROR_EXIT = {"run": EXIT_FAILED, "rerun": EXIT_RERUN_FAILED, "diff": EXIT_INPUT}


class _JsonCommand(click.Command):
    """A command whose ``--json`` output is one JSON object whatever happens.

    Usage errors (a bad option value) and nbrepro's own unexpected failures print the
    JSON error object too, before click's message or the traceback on stderr.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> click.Context:
        as_json = "--json" in args  # before click consumes the list
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            if as_json:
                click.echo(json.dumps(_error_json(exc.format_message(), exc.exit_code)))
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # Ctrl-C or a cancel, wherever it lands
            message, extra = _interrupted(self.name or "", exc)
            if ctx.params.get("as_json"):
                if "run_id" in ctx.params:
                    extra["reproduces"] = ctx.params["run_id"]
                click.echo(json.dumps(_error_json(message, EXIT_INTERRUPTED, **extra), indent=1))
            _fail(message, EXIT_INTERRUPTED)
        except click.ClickException as exc:
            if ctx.params.get("as_json"):
                click.echo(json.dumps(_error_json(exc.format_message(), exc.exit_code)))
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug or an unreachable store: say so, then the traceback
            code = _INTERNAL_ERROR_EXIT.get(self.name or "", EXIT_FAILED)
            message = f"{type(exc).__name__}: {exc}"
            if ctx.params.get("as_json"):
                extra = {"reproduces": ctx.params["run_id"]} if "run_id" in ctx.params else {}
                click.echo(json.dumps(_error_json(message, code, **extra)))
            traceback.print_exc()
            click.echo(f"Error: nbrepro failed unexpectedly: {message}", err=True)
            sys.exit(code)


def _interrupt_on_sigterm() -> None:
    """Let SIGTERM (a cancelled rerun job) unwind like Ctrl-C.

    The default SIGTERM action ends the process at once, leaving the MLflow run
    RUNNING and the kernel orphaned; an interrupt lets papermill shut the kernel
    down and nbrepro end the run as KILLED.
    """

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _interrupted(command: str, exc: KeyboardInterrupt) -> tuple[str, dict[str, Any]]:
    """What an interrupted command says, and the run it recorded as KILLED if any."""
    from nbrepro.reproduce.headless import RunInterrupted

    what = {"run": "the run", "rerun": "the rerun"}.get(command, f"nbrepro {command}".strip())
    if isinstance(exc, RunInterrupted):
        return f"{what} was interrupted; run {exc.run_id} is recorded as KILLED", {
            "run_id": exc.run_id
        }
    return f"{what} was interrupted", {}


class _Group(click.Group):
    """Every command exits 130 when interrupted (Ctrl-C, or SIGTERM: a cancelled job)."""

    def invoke(self, ctx: click.Context) -> Any:
        _interrupt_on_sigterm()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            _fail(_interrupted(ctx.invoked_subcommand or "", exc)[0], EXIT_INTERRUPTED)


# Options shared by `run` and `rerun`.
_PARAMETER_OPTION = click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Papermill parameter (repeatable).",
)
_OUTPUT_OPTION = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the executed notebook.",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbrepro")
def main() -> None:
    """Reproducible notebook runs: capture to MLflow, re-execute, get a verdict."""
    # MLflow draws a progress bar for every artifact download; a CLI's output is ours.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow imports pyspark when it is installed (looking for a Databricks session), and
    # pyspark-client warns about the pandas version: not this command's output.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark\.")
    # papermill's and the report's nbformat: two seconds of CPU spared on every command.
    paths.skip_iri_format_checker()


def _error_json(message: str, code: int, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "run_id": None, "exit_code": code, "error": message, **extra}


def _fail_json(as_json: bool, message: str, code: int, **extra: Any) -> None:
    """Fail with ``message``: with ``--json``, also one JSON object on stdout."""
    if as_json:
        click.echo(json.dumps(_error_json(message, code, **extra), indent=1, default=str))
    _fail(message, code)


def _input_error(exc: NbreproError) -> bool:
    """A problem with what the user asked for (exit code 2), not with the execution."""
    from nbrepro.reproduce.notebook_file import NotebookUnusable
    from nbrepro.store.runs import RunNotUsable

    return isinstance(exc, NotebookUnusable | RunNotUsable | KernelNotFound)


def _a_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An experiment or run name given on the command line is not empty."""
    if value is not None and not value.strip():
        raise click.BadParameter(f"takes a name, got {value!r}")
    return value


_KERNEL_OPTION = click.option(
    "--kernel",
    "-k",
    default=None,
    help="Kernel name (default: the notebook's; for rerun, the recorded one).",
)


@main.command(cls=_JsonCommand)
@click.argument("notebook", type=click.Path(dir_okay=False))
@_PARAMETER_OPTION
@click.option("--experiment", "-e", default=None, callback=_a_name, help="MLflow experiment name.")
@click.option(
    "--name",
    "-n",
    "run_name",
    default=None,
    callback=_a_name,
    help="Run name (default: notebook name).",
)
@_OUTPUT_OPTION
@_KERNEL_OPTION
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
    """Execute NOTEBOOK with papermill and capture the run to MLflow.

    Exit code: 0 the notebook ran to its end, 1 a cell failed (or the kernel died, or a
    cell timed out; the run is recorded as FAILED), 2 usage or input error (nothing
    run), 130 interrupted.
    """
    from nbrepro.reproduce.headless import run_notebook

    params = {name: _resolve_value(value) for name, value in parameters}
    try:
        with _json_only_stdout(as_json):
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
        _fail_json(as_json, str(exc), EXIT_INPUT if _input_error(exc) else EXIT_FAILED)
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
        where = f"{err.where} raised" if err.cell_index >= 0 else "the notebook could not run:"
        click.echo(f"Error: {where} {err.ename}: {err.evalue}", err=True)
        sys.exit(EXIT_FAILED)


def _tolerances(values: tuple[str, ...]) -> tuple[dict[str, float], float]:
    per_metric: dict[str, float] = {}
    default = 0.0
    for value in values:
        name, sep, rel = value.rpartition("=")
        try:
            number = float(rel)
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: use NAME=REL or REL", param_hint="--tolerance"
            ) from None
        if sep:
            per_metric[name] = number
        else:
            default = number
    return per_metric, default


def _sanitizers(path: str | None) -> list[tuple[str, str]]:
    if not path:
        return []
    from nbrepro.reproduce.compare.outputs import load_sanitizers

    try:
        return load_sanitizers(path)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--sanitizers") from None


_COMPARE_OPTIONS = [
    click.option(
        "--tolerance",
        "tolerance",
        multiple=True,
        metavar="[NAME=]REL",
        help="Relative tolerance for a metric, or for all (default: exact).",
    ),
    click.option(
        "--sanitizers",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="Extra output sanitizers (nbval's file format).",
    ),
    click.option(
        "--ignore-volatile",
        is_flag=True,
        help="Output differences explained by times, dates or durations do not count "
        "(they are still listed).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
]


def _compare_options(f: Any) -> Any:
    for option in reversed(_COMPARE_OPTIONS):
        f = option(f)
    return f


# rerun and diff: the table the models' predictions are compared on.
_model_sample_option = click.option(
    "--model-sample",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Compare the models' predictions on this table (CSV, Parquet or JSON) instead "
    "of each model's logged input example.",
)


def _env_log(quiet: bool) -> Any:
    if quiet:
        return lambda message: None
    return lambda message: click.echo(f"  environment: {message}", err=True)


@main.command(cls=_JsonCommand)
@click.argument("run_id")
@click.option(
    "--data",
    type=click.Choice(DATA_MODES),
    default=PINNED,
    show_default=True,
    help="Read Delta tables at the recorded versions, or their current ones.",
)
@click.option(
    "--env",
    "env_mode",
    type=click.Choice(ENV_MODES),
    default=CURRENT,
    show_default=True,
    help="Run in this environment (drift reported), or in one rebuilt with uv from the "
    "recorded packages (cached by their hash).",
)
@click.option(
    "--allow-missing",
    is_flag=True,
    help="With --env recorded: rebuild without packages no registry has.",
)
@_PARAMETER_OPTION
@_OUTPUT_OPTION
@_KERNEL_OPTION
@click.option(
    "--timeout",
    type=int,
    default=None,
    help="Per-cell timeout in seconds (default: the original run's).",
)
@click.option(
    "--spark-remote",
    envvar="NBREPRO_SPARK_REMOTE",
    default=None,
    metavar="URL",
    help="Spark Connect address the rerun uses instead of the notebook's "
    "(sc://host:port/;token=...); env NBREPRO_SPARK_REMOTE.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Re-execute N times under the same pins and environment and compare the reruns "
    "with each other too: reruns that disagree make the notebook nondeterministic, and "
    "the report names the first cell where they do.",
)
@_model_sample_option
@_compare_options
def rerun(
    run_id: str,
    data: str,
    env_mode: str,
    allow_missing: bool,
    parameters: tuple[tuple[str, str], ...],
    output: str | None,
    kernel: str | None,
    timeout: int | None,
    spark_remote: str | None,
    repeat: int,
    model_sample: str | None,
    tolerance: tuple[str, ...],
    sanitizers: str | None,
    ignore_volatile: bool,
    as_json: bool,
) -> None:
    """Re-execute RUN_ID pinned to its Delta versions and report whether it reproduced.

    The recorded papermill parameters are replayed; -p overrides one. RUN_ID may be a
    registered model version, models:/NAME/VERSION or models:/NAME@ALIAS: the run that
    logged it is re-executed, and the verdict is also written on the version.

    Exit code: 0 reproduced (a failure of the original, reproduced in the same cell
    with the same error, counts as reproduced and is named), 1 differs, 2 usage or
    input error (nothing run), 3 failed (the rerun failed where the original did not,
    or nothing could be compared), 130 interrupted.
    """
    from nbrepro.paths import PROGRESS_FILE_ENV
    from nbrepro.reproduce.compare.report import render_text
    from nbrepro.reproduce.rerun import DataUnavailable, RerunOptions
    from nbrepro.reproduce.rerun import rerun as do_rerun
    from nbrepro.store.tracking import resolve_tracking_uri

    per_metric, default = _tolerances(tolerance)
    options = RerunOptions(
        data=data,
        env=env_mode,
        allow_missing=allow_missing,
        log=_env_log(as_json),
        parameters={name: _resolve_value(value) for name, value in parameters},
        output=output,
        timeout=timeout,
        tolerances=per_metric,
        default_tolerance=default,
        sanitizers=_sanitizers(sanitizers),
        ignore_volatile=ignore_volatile,
        progress=not as_json and sys.stderr.isatty(),
        kernel_name=kernel,
        progress_file=os.environ.get(PROGRESS_FILE_ENV) or None,
        spark_remote=spark_remote or None,
        repeat=repeat,
        model_sample=model_sample,
    )
    try:
        with _json_only_stdout(as_json):
            result = do_rerun(run_id, resolve_tracking_uri(), options)
    except NbreproError as exc:
        # What a client acts on (a job's error_reason: the sidebar's "Re-execute on
        # latest data"), not the message, which says it for a terminal.
        reason = exc.reason() if isinstance(exc, DataUnavailable) else None
        _fail_json(
            as_json,
            str(exc),
            EXIT_INPUT if _input_error(exc) else EXIT_RERUN_FAILED,
            reproduces=run_id,
            **({"reason": reason} if reason else {}),
        )
        return
    report = result.report
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": result.rerun_run_id,
                    "reproduces": result.original_run_id or run_id,
                    **report,
                },
                indent=1,
                default=str,
            )
        )
    else:
        click.echo(render_text(report))
        if result.output_path:
            click.echo(f"executed notebook: {result.output_path}")
    sys.exit(VERDICT_EXIT[report["verdict"]])


@main.command(cls=_JsonCommand)
@click.argument("run_a")
@click.argument("run_b")
@_model_sample_option
@_compare_options
def diff(
    run_a: str,
    run_b: str,
    model_sample: str | None,
    tolerance: tuple[str, ...],
    sanitizers: str | None,
    ignore_volatile: bool,
    as_json: bool,
) -> None:
    """Compare two captured runs: data, environment, code, params, metrics, outputs,
    and the MLflow models they logged.

    Exit code: 0 same results, 1 they differ, 2 usage or input error.
    """
    from nbrepro.reproduce.compare.report import render_text
    from nbrepro.reproduce.rerun import diff as do_diff
    from nbrepro.store.tracking import resolve_tracking_uri

    per_metric, default = _tolerances(tolerance)
    try:
        report = do_diff(
            run_a,
            run_b,
            resolve_tracking_uri(),
            tolerances=per_metric,
            default_tolerance=default,
            sanitizers=_sanitizers(sanitizers),
            ignore_volatile=ignore_volatile,
            model_sample=model_sample,
        )
    except NbreproError as exc:
        _fail_json(as_json, str(exc), EXIT_INPUT)
        return
    click.echo(json.dumps(report, indent=1, default=str) if as_json else render_text(report))
    sys.exit(EXIT_OK if report["verdict"] == REPRODUCED else EXIT_DIFFERS)


@main.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def show(run_id: str, as_json: bool) -> None:
    """Show what a run captured, and where each table it read is now."""
    from nbrepro.capture.delta.drift import table_drift
    from nbrepro.cli.render import render_run
    from nbrepro.store.runs import load_run
    from nbrepro.store.tracking import resolve_tracking_uri

    try:
        captured = load_run(run_id, resolve_tracking_uri())
    except NbreproError as exc:
        _fail(str(exc), EXIT_INPUT)
        return
    drift = table_drift(captured.record["data"]["reads"])
    if as_json:
        click.echo(
            json.dumps(
                {
                    "record": captured.record,
                    "params": captured.params,
                    "metrics": captured.metrics,
                    "tags": dict(captured.run.data.tags),
                    "data_drift": drift,
                },
                indent=1,
                default=str,
            )
        )
    else:
        click.echo(render_run(captured, drift))


@main.command(name="list")
@click.option("--experiment", "-e", default=None, help="Only this experiment.")
@click.option("--notebook", default=None, type=click.Path(), help="Only runs of this notebook.")
@click.option("--max-results", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_runs(
    experiment: str | None, notebook: str | None, max_results: int, as_json: bool
) -> None:
    """Captured runs, newest first, with the verdict of their latest rerun."""
    from nbrepro.cli.render import render_rows
    from nbrepro.store.listing import list_runs as runs_page
    from nbrepro.store.tracking import resolve_tracking_uri

    try:
        rows, _ = runs_page(
            resolve_tracking_uri(),
            experiment=experiment,
            notebook=notebook,
            max_results=max_results,
        )
    except NbreproError as exc:
        _fail(str(exc), EXIT_INPUT)
        return
    click.echo(json.dumps(rows, indent=1) if as_json else render_rows(rows))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sync(as_json: bool) -> None:
    """Upload captures saved while the tracking store was unreachable.

    Each upload prints the run's id in the store (a spooled capture had none there).
    Uploaded captures are removed from the spool. A capture whose cell is still
    running is left for a later sync.
    """
    from dataclasses import asdict

    from nbrepro.store.spool import sync_all

    try:
        with _json_only_stdout(as_json):
            results = sync_all()
    except NbreproError as exc:
        _fail(str(exc), EXIT_INPUT)
        return
    failed = [r for r in results if not r.ok and not r.busy]
    busy = [r for r in results if r.busy]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "captures": [asdict(r) for r in results],
                    "uploaded": len(results) - len(failed) - len(busy),
                    "failed": len(failed),
                    "busy": len(busy),
                },
                indent=1,
            )
        )
    elif not results:
        click.echo("nothing to sync")
    for r in results if not as_json else []:
        click.echo(f"{r.capture_id}: {r.line()}")
    if failed:
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(as_json: bool) -> None:
    """Show where runs are stored and how many captures wait for upload."""
    from nbrepro.store import spool
    from nbrepro.store.tracking import display_uri, resolve_tracking_uri

    data = {
        "version": __version__,
        "tracking_uri": display_uri(resolve_tracking_uri()),
        "from_env": bool(os.environ.get("MLFLOW_TRACKING_URI")),
        "home": str(paths.nbrepro_home()),
        "spool": str(paths.spool_dir()),
        "pending_captures": len(spool.load_entries()),
        "pending_uploads": len(spool.load_uploads()),
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
    from nbrepro.store.tracking import resolve_tracking_uri

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
@click.option(
    "--spark",
    is_flag=True,
    help="Read the table through Spark Connect, on a local Sail server started for the "
    "demo (needs nbrepro[spark]); then append, rerun pinned and on the latest data.",
)
def demo(workdir: str, spark: bool) -> None:
    """Capture a notebook's run on a small Delta table, append to the table, then
    re-execute the run pinned to its data (it reproduces) and on the latest (it differs).

    Exit code: 0 the story came out as told, 1 it did not (a cell failed, the pinned
    rerun did not reproduce, a rerun failed): the message says which.
    """
    from nbrepro.cli.demo import run_demo, run_spark_demo

    try:
        if spark:
            run_spark_demo(workdir, say=click.echo)
        else:
            run_demo(workdir, say=click.echo)
    except NbreproError as exc:
        _fail(str(exc), EXIT_FAILED)
    except Exception as exc:  # a bug: one line for the reader, the traceback kept aside
        message = f"the demo failed unexpectedly: {type(exc).__name__}: {exc}"
        log = os.path.join(workdir, "demo-error.log")
        try:
            with open(log, "w", encoding="utf-8") as f:
                traceback.print_exc(file=f)
            message += f" (traceback: {log})"
        except OSError:
            traceback.print_exc()
        _fail(message, EXIT_FAILED)


if __name__ == "__main__":
    main()
