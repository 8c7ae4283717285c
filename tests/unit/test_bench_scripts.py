"""The benchmark scripts' own logic: what they send, which flags they honour, what their tables say.

Benchmarks are never run as tests; these check the cheap parts (arguments, payloads, labels) with
the heavy steps stubbed out, so a script runs as its usage says when someone does run it.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from clipsearch import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch):
    """Import a script of benchmarks/ (or scripts/) as it runs: its own folder first on sys.path."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module


def run_main(monkeypatch, module, *argv: str):
    """``module.main()`` as the command line calls it (``sys.argv``)."""
    monkeypatch.setattr(sys, "argv", [f"{module.__name__}.py", *argv])
    return module.main()


# --- 1. bench_query_latency: the plain HTTP call ------------------------------------------------
def test_the_plain_http_call_sends_every_input_search_text_takes(bench, tmp_path):
    from webui.app import build_app

    latency = bench("bench_query_latency")
    demo = build_app(None, Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache"))
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    (search_text,) = [fn for fn in fns if fn.api_name == "search_text"]
    data = latency.http_data("a red circle", 2)
    assert len(data) == len(search_text.inputs), (data, [type(c).__name__ for c in search_text.inputs])
    curl = re.search(r"""-d '(\{"data": .*\})'""", (ROOT / "webui" / "API.md").read_text()).group(1)
    assert data == json.loads(curl)["data"]  # what webui/API.md tells curl users to send


# --- 2. bench_reindex_search: a re-index that ends before the first search ------------------------
def test_a_reindex_without_searches_during_it_gives_dashes_not_a_crash(bench):
    reindex = bench("bench_reindex_search")
    assert reindex.during_columns([]) == [0, "-", "-", "-"]
    assert reindex.during_columns([0.010, 0.020, 0.030]) == [3, "20", "29", "30"]


# --- 3. bench_indexing --cache: the unchanged re-run's files ----------------------------------------
def test_the_unchanged_rerun_keeps_its_files_under_cache(bench, monkeypatch, tmp_path, capsys):
    indexing = bench("bench_indexing")
    monkeypatch.setattr(indexing, "CACHE", tmp_path / "default-cache")
    monkeypatch.setattr(indexing, "load_line", lambda: "a quiet machine")
    monkeypatch.setattr(indexing, "save_result", lambda name, text: tmp_path / name)
    chosen = tmp_path / "chosen"
    assert run_main(monkeypatch, indexing, "--skip-photos", "--tiny-files", "20", "--cache", str(chosen)) == 0
    assert not (tmp_path / "default-cache").exists()
    assert (chosen / "tiny-20-index" / "records.sqlite").exists()
    # --keep-tiny-index finds that index again: no first run this time
    run_main(monkeypatch, indexing, "--skip-photos", "--tiny-files", "20", "--cache", str(chosen),
             "--keep-tiny-index")
    second = capsys.readouterr().out.split("Unchanged re-run")[-1]
    assert "first run" not in second and "unchanged re-run #1 | 20 | 0 | 20" in second
    assert not (tmp_path / "default-cache").exists()


# --- 4. bench_duplicates: its usage lines and --help ------------------------------------------------
def test_every_usage_line_of_bench_duplicates_parses_and_help_describes_each_command(bench, monkeypatch, capsys):
    duplicates = bench("bench_duplicates")
    ran = []
    for name in ("quality", "documents", "speed"):
        monkeypatch.setattr(duplicates, name, lambda args, name=name: ran.append((name, args)))
    for line in duplicates.__doc__.splitlines():
        usage = re.match(r"\s+python benchmarks/bench_duplicates\.py (\w+)(.*?)(#|$)", line)
        if usage:
            argv = [usage.group(1), *re.sub(r"[\[\]]", " ", usage.group(2)).split()]
            assert run_main(monkeypatch, duplicates, *argv) == 0, line
    assert [name for name, _ in ran] == ["quality", "speed", "documents"]
    with pytest.raises(SystemExit) as exited:
        run_main(monkeypatch, duplicates, "--help")
    assert exited.value.code == 0
    listed = capsys.readouterr().out
    for name in ("quality", "documents", "speed"):
        assert re.search(rf"^\s+{name}\s+\w", listed, re.M), listed


# --- 5. --quick caps, it does not replace what was asked -------------------------------------------
def test_recall_quick_keeps_smaller_sizes_given(bench, monkeypatch, tmp_path):
    recall = bench("bench_recall")
    sizes = []

    def run_size(n, args, out):
        sizes.append((n, args.queries, args.exact_queries))
        return []

    monkeypatch.setattr(recall, "run_size", run_size)
    monkeypatch.setattr(recall, "load_line", lambda: "a quiet machine")
    monkeypatch.setattr(recall, "save_result", lambda name, text: tmp_path / name)
    run_main(monkeypatch, recall, "--quick", "--sizes", "3000", "--queries", "20", "--exact-queries", "10")
    assert sizes == [(3000, 20, 10)]
    sizes.clear()
    run_main(monkeypatch, recall, "--quick")
    assert sizes == [(20_000, 100, 50)]


def test_ocr_quick_keeps_smaller_counts_given(bench, monkeypatch, tmp_path):
    ocr = bench("bench_ocr")
    seen = []
    monkeypatch.setattr(ocr, "quality", lambda args, threads: seen.append((args.text, args.plain)) or "")
    monkeypatch.setattr(ocr, "throughput", lambda args, threads: seen.append(args.photos12) or "")
    monkeypatch.setattr(ocr, "load_line", lambda: "a quiet machine")
    monkeypatch.setattr(ocr, "save_result", lambda name, text: tmp_path / name)
    run_main(monkeypatch, ocr, "--quick", "--text", "3", "--plain", "2", "--photos12", "1")
    assert seen == [(3, 2), 1]
    seen.clear()
    run_main(monkeypatch, ocr, "--quick")
    assert seen == [(20, 8), 4]


def test_cutoff_per_kind_help_names_the_kinds_it_caps(bench, monkeypatch, capsys):
    cutoff = bench("bench_cutoff")
    with pytest.raises(SystemExit):
        run_main(monkeypatch, cutoff, "--help")
    described = " ".join(capsys.readouterr().out.split()).split("--per-kind PER_KIND")[-1].split("--speed-only")[0]
    for kind in ("narrow", "background", "sum", "photo + words", "shape", "colour", "negative"):
        assert kind in described, described
    assert "not capped" in described, described


# --- 6. bench_load: the throughput column names the clients used ------------------------------------
def test_the_load_table_names_the_clients_it_ran(bench):
    load = bench("bench_load")
    assert "3 clients req/s" in load.headers(3)
    assert not any("8 clients" in column for column in load.headers(3))


# --- 7. README: the cut-off agreement figures' command --------------------------------------------
def test_readme_runs_cutoff_agreement_on_as_many_libraries_as_it_says(bench):
    from benchmarks.bench_cutoff import parse_seeds

    readme = " ".join((ROOT / "README.md").read_text().split())
    said, command = re.search(r"Measured on the (\d+) rendered libraries[^`]*`python benchmarks/cutoff_agreement\.py"
                              r"([^`]*)`", readme).groups()
    seeds = re.search(r"--seeds (\S+)", command)
    assert seeds, f"README's command runs the default seeds, 0-13, not {said} libraries: {command!r}"
    assert len(parse_seeds(seeds.group(1))) == int(said)


# --- 8. the machine's load, and big photos' sizes -------------------------------------------------
def test_demo_quality_prints_the_load_it_saw(bench, monkeypatch, capsys):
    quality = bench("bench_demo_quality")
    engine = SimpleNamespace(index_folder=lambda folder: SimpleNamespace(added=0),
                             encoder=SimpleNamespace(precision="float32"), close=lambda: None)
    monkeypatch.setattr(quality, "load_line", lambda: "LOAD-SEEN")
    monkeypatch.setattr(quality, "make_sample_library", lambda folder, n, seed: None)
    monkeypatch.setattr(quality.SearchEngine, "for_writing", lambda settings: engine)
    monkeypatch.setattr(quality, "measure", lambda engine, library, k: [])
    monkeypatch.setattr(quality, "figures_table", lambda figures: "| table |")
    assert run_main(monkeypatch, quality, "--n", "4") == 0
    out = capsys.readouterr().out
    assert "Machine before: LOAD-SEEN" in out and "Machine after: LOAD-SEEN" in out


def test_eval_demo_model_prints_the_load_it_saw(bench, monkeypatch, capsys):
    evaluation = bench("eval_demo_model")
    monkeypatch.setattr("benchmarks._common.load_line", lambda: "LOAD-SEEN")
    monkeypatch.setattr(evaluation, "load_demo_model", lambda model_dir: (None, None, None))
    monkeypatch.setattr(evaluation, "evaluate_seeds", lambda *args: [])
    monkeypatch.setattr(evaluation, "format_table", lambda results, seeds: "| table |")
    monkeypatch.setattr(evaluation.torch, "set_num_threads", lambda n: None)
    run_main(monkeypatch, evaluation, "--n", "4")
    out = capsys.readouterr().out
    assert "Machine before: LOAD-SEEN" in out and "Machine after: LOAD-SEEN" in out


@pytest.mark.parametrize("argv", [["--width", "2000", "--height", "1500"], ["--width", "70000"], ["--height", "x"]])
def test_big_photos_refuses_sizes_it_cannot_write_as_a_usage_error(bench, monkeypatch, capsys, argv):
    big = bench("bench_big_photos")
    monkeypatch.setattr(big, "big_jpeg", lambda *args, **kwargs: pytest.fail("a photo was made"))
    with pytest.raises(SystemExit) as exited:
        run_main(monkeypatch, big, "--photos", "1", *argv)
    assert exited.value.code == 2
    assert "multiple of 16" in capsys.readouterr().err
