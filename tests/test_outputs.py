"""Output comparison: sanitizing volatile text, signatures, per-cell diffs, user sanitizers."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_output

from nbrepro.reproduce.compare.outputs import (
    compare_outputs,
    load_sanitizers,
    output_signature,
    sanitize,
)


def stream(text: str | list[str], name: str = "stdout") -> Any:
    return new_output("stream", name=name, text=text)


def result(data: dict[str, Any], kind: str = "execute_result") -> Any:
    if kind == "execute_result":
        return new_output(kind, data=data, execution_count=1)
    return new_output(kind, data=data)


NOISY_A = (
    "<Model object at 0x7f3a2b1c9d10>\n"
    "100%|██████████| 10/10 [00:01<00:00, 9.87it/s]\n"
    "saved to /tmp/tmpab12cd/model.pkl and /var/folders/xy/T/abc/x.csv\n"
    "win C:\\Users\\me\\AppData\\Local\\Temp\\tmp99\\f.txt\n"
    "32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.1200\n"
    "rmse=0.0993 n=32\n"
)
NOISY_B = (
    "<Model object at 0x55d0e3ffa2c0>\n"
    "100%|██████████| 10/10 [00:00<00:00, 123.4it/s]\n"
    "saved to /tmp/tmpzz99qq/model.pkl and /var/folders/q1/T/zzz/x.csv\n"
    "win C:\\Users\\you\\AppData\\Local\\Temp\\tmpAB\\f.txt\n"
    "32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 31ms/step - loss: 0.1200\n"
    "rmse=0.0993 n=32\n"
)
TIMES_A = "started 2024-05-01T10:22:33.123456+00:00, logged 2024-05-01 10:22:34.5\n"
TIMES_B = "started 2025-01-09T23:01:02Z, logged 2025-01-09 23:01:02\n"
DURATIONS_A = "Wall time: 1.23 s; CPU times: user 12 ms, sys: 3.4 µs\n"
DURATIONS_B = "Wall time: 980 ms; CPU times: user 1.5 s, sys: 10 µs\n"


def test_noise_is_removed_and_results_are_kept() -> None:
    clean = sanitize(NOISY_A)
    assert clean == sanitize(NOISY_B)
    for placeholder in ("0xADDRESS", "[PROGRESS]", "TMPPATH", "DURATION/step"):
        assert placeholder in clean
    assert "rmse=0.0993 n=32" in clean and "loss: 0.1200" in clean
    assert sanitize("accuracy 0.95, loss 12.5, 3 samples, epoch 2") == (
        "accuracy 0.95, loss 12.5, 3 samples, epoch 2"
    )


def test_printed_values_that_look_volatile_are_kept() -> None:
    # A checksum, a run id, a time the notebook printed: values, not noise.
    for text in ("crc 0x1c291ca3", "md5 0123456789abcdef0123456789abcdef", TIMES_A, DURATIONS_A):
        assert sanitize(text) == text


def test_noise_outputs_compare_same() -> None:
    a = {0: [stream(NOISY_A)], 1: [result({"text/plain": "<Foo at 0x7f00aa11bb22>"})]}
    b = {0: [stream(NOISY_B)], 1: [result({"text/plain": "<Foo at 0x7f99cc33dd44>"})]}
    report = compare_outputs(a, b)
    assert report == {
        "same": True,
        "compared": 2,
        "with_outputs": 2,
        "cells": [],
        "only_in_a": [],
        "only_in_b": [],
        "volatile_only": False,
    }


@pytest.mark.parametrize(
    ("a", "b", "kinds"),
    [
        (TIMES_A, TIMES_B, ["times"]),
        (DURATIONS_A, DURATIONS_B, ["durations"]),
        (TIMES_A + DURATIONS_A, TIMES_B + DURATIONS_B, ["times", "durations"]),
        (
            "1.2 ms ± 3 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)\n",
            "The slowest run took 4.52 times longer than the fastest. This could mean that an "
            "intermediate result is being cached.\n"
            "980 µs ± 12.1 µs per loop (mean ± std. dev. of 7 runs, 1 loop each)\n",
            ["durations"],
        ),
        (
            "at datetime.datetime(2026, 12, 2, 11, 0, 1)\n",
            "at datetime.datetime(2026, 12, 3, 9, 4, 5)\n",
            ["times"],
        ),
    ],
)
def test_volatile_differences_count_and_are_labelled(a: str, b: str, kinds: list[str]) -> None:
    report = compare_outputs({0: [stream(a)]}, {0: [stream(b)]})
    assert report["same"] is False and report["volatile_only"] is True
    [cell] = report["cells"]
    assert cell["volatile"] == kinds and cell["counted"] is True
    ignored = compare_outputs({0: [stream(a)]}, {0: [stream(b)]}, ignore_volatile=True)
    assert ignored["same"] is True
    assert ignored["cells"][0]["counted"] is False


def test_a_real_change_next_to_a_time_is_not_volatile() -> None:
    a = {0: [stream("at 2026-12-02 10:00:00 rmse=0.10\n")]}
    b = {0: [stream("at 2026-12-03 09:00:00 rmse=0.12\n")]}
    report = compare_outputs(a, b, ignore_volatile=True)
    assert report["same"] is False
    assert report["cells"][0]["volatile"] == [] and report["volatile_only"] is False


def test_random_ids_differ_and_are_not_volatile() -> None:
    a = {0: [stream("run 0123456789abcdef0123456789abcdef\n")]}
    b = {0: [stream("run fedcba9876543210fedcba9876543210\n")]}
    report = compare_outputs(a, b, ignore_volatile=True)
    assert report["same"] is False and report["cells"][0]["volatile"] == []


def test_stderr_is_compared_after_its_noise_is_removed() -> None:
    warning = (
        "/site-packages/sklearn/base.py:12: FutureWarning: the default will change\n"
        "  warnings.warn(\n"
    )
    mlflow_lines = (
        "2026/12/02 11:00:00 INFO mlflow.tracking.fluent: Experiment set\n"
        "🏃 View run gentle-cow-12 at: http://127.0.0.1:5000/#/experiments/1/runs/abc\n"
        "Created version '3' of model 'wine'.\n"
    )
    a = {0: [stream(warning + "INFO:root:loss=0.25\n", "stderr")]}
    b = {0: [stream(mlflow_lines + "INFO:root:loss=0.25\n", "stderr")]}
    assert compare_outputs(a, b)["same"] is True
    c = {0: [stream("INFO:root:loss=0.31\n", "stderr")]}
    report = compare_outputs(a, c)
    assert report["same"] is False
    assert "-INFO:root:loss=0.25" in report["cells"][0]["diff"].splitlines()
    # A stream with nothing left but noise is no output at all.
    assert compare_outputs({0: [stream(warning, "stderr")]}, {0: []})["same"] is True


def test_changed_metric_differs_with_diff_line() -> None:
    a = {0: [stream("epoch 1 done\n")], 3: [stream("rmse=0.10\n")]}
    b = {0: [stream("epoch 1 done\n")], 3: [stream("rmse=0.12\n")]}
    report = compare_outputs(a, b)
    assert report["same"] is False
    assert report["compared"] == 2
    [cell] = report["cells"]
    assert cell["cell"] == 3
    assert cell["same"] is False
    assert cell["images_differ"] is False
    assert "-rmse=0.10" in cell["diff"].splitlines()
    assert "+rmse=0.12" in cell["diff"].splitlines()


def test_images_differ() -> None:
    png_a = base64.b64encode(b"\x89PNG first image").decode()
    png_b = base64.b64encode(b"\x89PNG second image").decode()
    a = {2: [result({"image/png": png_a, "text/plain": "<Figure size 640x480>"}, "display_data")]}
    b = {2: [result({"image/png": png_b, "text/plain": "<Figure size 640x480>"}, "display_data")]}
    report = compare_outputs(a, b)
    [cell] = report["cells"]
    assert cell["images_differ"] is True
    sig = output_signature(a[2][0])
    assert sig["data"]["image/png"].startswith("sha256:")
    assert sig["data"]["text/plain"] == "<Figure size 640x480>"


def test_nbrepro_summary_and_widgets_are_ignored() -> None:
    summary = result(
        {"text/plain": "nbrepro: run 0123abcd logged to http://localhost"}, "display_data"
    )
    widget = result(
        {
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
            "text/plain": "FloatProgress(value=0.3)",
        },
        "display_data",
    )
    a = {0: [stream("hello\n"), summary, widget]}
    b = {0: [stream("hello\n")]}
    assert compare_outputs(a, b)["same"] is True
    assert output_signature(summary) == {}


def test_split_streams_compare_same() -> None:
    a = {0: [stream("loss=0.5\nloss=0.4\n"), stream("warn\n", "stderr")]}
    b = {
        0: [
            stream("loss=0."),
            stream("warn\n", "stderr"),
            stream(["5\nloss", "=0.4\n"]),
        ]
    }
    assert compare_outputs(a, b)["same"] is True


def test_progress_bar_redraws_compare_same() -> None:
    a = {0: [stream("\r 50%|#    | 1/2\r100%|#####| 2/2 [00:01<00:00, 1.90it/s]\n")]}
    b = {0: [stream("\r100%|#####| 2/2 [00:00<00:00, 7.10it/s]\n")]}
    assert compare_outputs(a, b)["same"] is True


def test_errors_compare_ename_and_evalue_only() -> None:
    def err(evalue: str, tb: list[str]) -> Any:
        return new_output("error", ename="ValueError", evalue=evalue, traceback=tb)

    a = {0: [err("bad file /tmp/tmpaa/x", ["\x1b[31m/home/a/nb.py line 3"])]}
    b = {0: [err("bad file /tmp/tmpbb/x", ["/home/b/other.py line 9"])]}
    assert compare_outputs(a, b)["same"] is True
    c = {0: [err("other message", [])]}
    assert compare_outputs(a, c)["same"] is False


def test_only_in_a_and_b() -> None:
    a = {0: [stream("x\n")], 1: [stream("y\n")]}
    b = {0: [stream("x\n")], 2: [stream("z\n")]}
    report = compare_outputs(a, b)
    assert report["compared"] == 1
    assert report["cells"] == []
    assert report["only_in_a"] == [1]
    assert report["only_in_b"] == [2]
    assert report["same"] is False


def test_long_diff_is_capped() -> None:
    a = {0: [stream("".join(f"value {i}\n" for i in range(100)))]}
    b = {0: [stream("".join(f"other {i}\n" for i in range(100)))]}
    diff = compare_outputs(a, b)["cells"][0]["diff"].splitlines()
    assert len(diff) == 41
    assert diff[-1].startswith("... (")


def test_json_and_html_are_sanitized_text() -> None:
    a = {0: [result({"application/json": {"run": "2024-01-01T00:00:00", "rmse": 0.1}})]}
    b = {0: [result({"application/json": {"run": "2025-02-02T11:11:11", "rmse": 0.1}})]}
    assert compare_outputs(a, b)["cells"][0]["volatile"] == ["times"]
    c = {0: [result({"text/html": "<b>at 0x7f0000aaaa</b>"})]}
    d = {0: [result({"text/html": "<b>at 0x7f1111bbbb</b>"})]}
    assert compare_outputs(c, d)["same"] is True


def test_user_sanitizer_file(tmp_path: Path) -> None:
    path = tmp_path / "sanitize.cfg"
    path.write_text(
        "[hostname]\nregex: host-[a-z]+-\\d+\nreplace: HOST\n\n"
        "[percent]\nregex: \\d+% done\nreplace: PCT\n",
        encoding="utf-8",
    )
    patterns = load_sanitizers(path)
    assert patterns == [(r"host-[a-z]+-\d+", "HOST"), (r"\d+% done", "PCT")]

    a = {0: [stream("on host-alpha-1, 10% done\n")]}
    b = {0: [stream("on host-beta-22, 90% done\n")]}
    assert compare_outputs(a, b)["same"] is False
    assert compare_outputs(a, b, extra_sanitizers=patterns)["same"] is True


def test_bad_regex_raises_value_error_naming_section(tmp_path: Path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text("[ok]\nregex: a+\nreplace: A\n\n[broken]\nregex: (unclosed\nreplace: X\n")
    with pytest.raises(ValueError, match=r"\[broken\]"):
        load_sanitizers(path)


def test_section_without_replace_raises(tmp_path: Path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text("[typo]\nregex: a+\nreplacement: A\n")
    with pytest.raises(ValueError, match=r"\[typo\]"):
        load_sanitizers(path)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # csv.writer's CRLF line ends are not progress-bar redraws.
        ("acc,0.91\r\nloss,0.2\r\n", "acc,0.55\r\nloss,0.9\r\n"),
        # A notebook's own absl logging is a result, not library chatter.
        (
            "I0115 10:00:00.123456 140234 train.py:42] val_acc=0.91\n",
            "I0115 10:00:00.123456 140234 train.py:42] val_acc=0.55\n",
        ),
        # Only the one source line after a warning goes, not what follows it.
        (
            "x.py:5: UserWarning: d\n  warnings.warn(m)\n  Final accuracy: 0.91\n",
            "x.py:5: UserWarning: d\n  warnings.warn(m)\n  Final accuracy: 0.55\n",
        ),
        # A progress bar's description and postfix are values.
        (
            "val_acc=0.91: 100%|##########| 10/10 [00:01<00:00, 9.87it/s, loss=0.123]\n",
            "val_acc=0.91: 100%|##########| 10/10 [00:01<00:00, 9.87it/s, loss=0.5]\n",
        ),
        ("recall 95%|precision 90%|f1 92%\n", "recall 95%|precision 80%|f1 92%\n"),
        ("[12:34, anything]\n", "[12:35, anything]\n"),
        ("24/01/15 10:00:00 INFO Trainer: a=1\n", "24/01/15 10:00:00 INFO Trainer: a=2\n"),
    ],
)
def test_noise_rules_do_not_eat_results(a: str, b: str) -> None:
    assert compare_outputs({0: [stream(a)]}, {0: [stream(b)]})["same"] is False


def test_library_noise_lines_are_dropped() -> None:
    chatter = (
        "I0000 00:00:1733140000.123456   12345 cuda_executor.cc:1015] NUMA node read\n"
        "24/01/15 10:00:00 WARN org.apache.hadoop.util.NativeCodeLoader: no native lib\n"
        "train: 100%|##########| 10/10 [00:01<00:00, 9.87it/s]\n"
    )
    rerun = chatter.replace("9.87", "31.2").replace("00:01<", "00:00<")
    a = {0: [stream(chatter + "res=1\n", "stderr")]}
    b = {0: [stream(rerun.replace("12345", "999") + "res=1\n", "stderr")]}
    assert compare_outputs(a, b)["same"] is True


def test_a_bare_min_is_not_a_duration() -> None:
    a = {0: [stream("mean 0.53 min 0.12 max 0.97\n")]}
    b = {0: [stream("mean 0.61 min 0.12 max 0.97\n")]}
    report = compare_outputs(a, b, ignore_volatile=True)
    assert report["same"] is False and report["cells"][0]["volatile"] == []


def test_redraws_overwrite_like_a_terminal() -> None:
    # JupyterLab shows "done0.91": the value is still there.
    a = {0: [stream("acc 0.91\rdone\n")]}
    b = {0: [stream("acc 0.55\rdone\n")]}
    assert compare_outputs(a, b)["same"] is False


def test_any_progress_rate_unit_is_noise() -> None:
    a = {0: [stream("Map: 100%|###| 1000/1000 [00:00<00:00, 5123.45 examples/s]\n")]}
    b = {0: [stream("Map: 100%|###| 1000/1000 [00:01<00:00, 923.45 examples/s]\n")]}
    assert compare_outputs(a, b)["same"] is True


def test_long_ipython_timings_are_durations() -> None:
    report = compare_outputs({0: [stream("took 1h 2min 3s\n")]}, {0: [stream("took 1h 5min 3s\n")]})
    assert report["cells"][0]["volatile"] == ["durations"]


def test_a_warning_of_the_notebooks_own_code_is_its_output() -> None:
    warn = "/tmp/ipykernel_123/456.py:3: UserWarning: accuracy dropped to {}\n  warnings.warn(m)\n"
    a = {0: [stream(warn.format("0.91"), "stderr")]}
    b = {0: [stream(warn.format("0.55"), "stderr")]}
    assert compare_outputs(a, b)["same"] is False


def _stream(name: str, text: str | list[str]) -> dict[str, object]:
    return {"output_type": "stream", "name": name, "text": text}


def test_a_capped_cell_is_compared_as_far_as_it_was_recorded() -> None:
    from nbrepro.capture.assemble import cap_outputs, cut_like

    full = [
        _stream("stdout", "a" * 50),
        _stream("stderr", "warning: slow\n"),
        _stream("stdout", "é" * 5000),  # bigger as JSON than in characters
        {"output_type": "display_data", "data": {"text/plain": "<plot>"}, "metadata": {}},
        {"output_type": "execute_result", "data": {"text/plain": "42"}},
    ]
    recorded, cut = cap_outputs(full, 2000)
    assert cut
    # The rerun, as nbformat holds it: streams split differently, text as lists.
    rerun = [
        _stream("stdout", ["a" * 20, "a" * 30]),
        _stream("stderr", ["warning: ", "slow\n"]),
        _stream("stdout", "é" * 2000),
        _stream("stdout", "é" * 3000 + "only past the cap differs"),
        {"output_type": "display_data", "data": {"text/plain": "<plot>"}, "metadata": {}},
        {"output_type": "execute_result", "data": {"text/plain": "42"}, "execution_count": 3},
    ]
    a, b = cut_like(recorded, rerun)

    def strip(outs: list[dict[str, object]]) -> list[dict[str, object]]:
        return [{k: v for k, v in o.items() if k != "execution_count"} for o in outs]

    # The display_data the record had no room for is left out of both.
    assert [o["output_type"] for o in a] == [
        "stream",
        "stream",
        "stream",
        "execute_result",
        "stream",
    ]
    assert strip(a) == strip(b)
    assert "outputs cut at 2000 bytes" in a[-1]["text"]
    # A difference inside what was kept shows.
    changed = [_stream("stdout", "b" * 50), *rerun[1:]]
    a2, b2 = cut_like(recorded, changed)
    assert strip(a2) != strip(b2)
    # A missing result shows too.
    a3, b3 = cut_like(recorded, rerun[:-1])
    assert strip(a3) != strip(b3)


def test_ipythons_already_loaded_answer_to_load_ext_nbrepro_is_noise() -> None:
    # What kernels nbrepro started printed for the notebook's `%load_ext nbrepro` before
    # they loaded nbrepro under a name of its own: runs recorded then compare the same.
    said = "The nbrepro extension is already loaded. To reload it, use:\n  %reload_ext nbrepro\n"
    assert compare_outputs({0: [stream(said)]}, {0: []})["same"] is True
    other = said.replace("nbrepro", "autoreload")
    assert compare_outputs({0: [stream(other)]}, {0: []})["same"] is False
