"""The history file: import of a schema-1 report, two concurrent writers, a writer killed mid-transaction,
baselines and regression gates, pins, the trend and compare commands, the HTML page, plan refusal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from hil.cli import cli
from hil.config import GatesCfg, load_boards
from hil.errors import ConfigError
from hil.history import baseline as bl
from hil.history import facts, open_history
from hil.history.hook import with_baseline
from hil.scoring import compare, report
from hil.scoring.gates import evaluate
from hil.scoring.report_model import EngineProfile, Report

NAMES = ["SR", "SB", "AFIB", "GSVT"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_report(run_id: str, *, ticks_scale: float = 1.0, windows: int = 40, arena: int = 30_000) -> Report:
    """A report built by the real compare/gates functions from made-up outputs."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, windows)
    ref = rng.integers(-128, 128, (windows, 4)).astype(np.int8)
    board = load_boards(os.path.join(REPO, "boards.yaml")).boards["qemu-m4"]
    ticks = (rng.integers(10_000, 12_000, windows) * ticks_scale).astype(np.int64)
    m = {k: compare.metrics(y, compare.dequantize(ref, 0.1, 0), NAMES, 0.5) for k in ("keras", "tflite", "device")}
    doc = {
        "run_id": run_id, "board": "qemu-m4", "engine": "aot", "windows": windows, "timings": {},
        "model": {"name": "rhythm-4-effv2", "sha256": "ab" * 32, "params": 1, "tflite_bytes": 6},
        "firmware": {"sha256": "cd" * 32, "text": 100, "data": 10, "bss": 2000},
        "dataset": {"name": "synthetic", "path": "/x", "split": "test", "class_counts": {k: 10 for k in NAMES},
                    "fingerprint": "f00d"},
        "metrics": m, "agreement": compare.agreement(ref, ref, scale=0.1), "latency": compare.latency(ticks, board),
        "memory": compare.memory({"text": 100, "data": 10, "bss": 2000}, arena),
    }
    doc["gates"] = evaluate(GatesCfg(), doc)
    return Report.model_validate(doc)


def v1_run_dir(tmp_path, run_id="20240101-020000-qemu-m4"):
    d = tmp_path / run_id
    d.mkdir()
    doc = report.as_document(make_report(run_id))
    for k in ("schema_version", "warnings", "baseline"):
        doc.pop(k, None)
    (d / "report.json").write_text(json.dumps(doc))
    return d


def test_import_of_a_schema_1_report_and_the_trend_table(tmp_path):
    db = tmp_path / "h.sqlite"
    run = CliRunner().invoke(cli, ["history", "--history", str(db), "import", str(v1_run_dir(tmp_path))])
    assert run.exit_code == 0, run.output
    res = CliRunner().invoke(cli, ["history", "--history", str(db), "--json"])
    rows = json.loads(res.output)
    assert [r["run_id"] for r in rows] == ["20240101-020000-qemu-m4"]
    assert rows[0]["series"] == "qemu-m4|aot|-|rhythm-4-effv2|f00d|test"
    assert rows[0]["columns"]["latency"]["value"] > 10_000 and rows[0]["exit_status"] == 0
    with open_history(db) as h:
        assert h.get("20240101-020000-qemu-m4")["report"]["schema_version"] == 1


WRITER = textwrap.dedent("""
    import sys, time
    from hil.history import open_history
    path, tag, n, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "hold"
    with open_history(path) as h:
        if hold:
            h.conn.execute("BEGIN IMMEDIATE")
            h.conn.execute("INSERT INTO runs (run_id, recorded, board, exit_status) VALUES ('torn', 'x', 'b', 0)")
            print("inside", flush=True)
            time.sleep(60)
        for i in range(n):
            h.record({"run_id": f"{tag}-{i}", "recorded": "x", "board": "qemu-m4", "exit_status": 0,
                      "numbers": {"latency.median": i}})
""")


def _writer(db, tag, n, hold=False):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag, str(n), "hold" if hold else "go"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": REPO})


def test_two_concurrent_writers_both_land(tmp_path):
    db = tmp_path / "h.sqlite"
    procs = [_writer(db, tag, 40) for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with open_history(db) as h:
        ids = {r["run_id"] for r in h.rows()}
        assert h.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert ids == {f"{t}-{i}" for t in "ab" for i in range(40)}


def test_a_writer_killed_mid_transaction_leaves_the_history_whole(tmp_path):
    db = tmp_path / "h.sqlite"
    with open_history(db) as h:
        h.record({"run_id": "before", "recorded": "x", "board": "qemu-m4", "exit_status": 0})
    p = _writer(db, "k", 0, hold=True)
    assert p.stdout.readline().strip() == "inside"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    with open_history(db) as h:  # the killed writer's lock is gone and its row never happened
        h.record({"run_id": "after", "recorded": "x", "board": "qemu-m4", "exit_status": 0})
        assert {r["run_id"] for r in h.rows()} == {"before", "after"}
        assert h.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_newer_schema_is_refused(tmp_path):
    db = tmp_path / "h.sqlite"
    with open_history(db) as h:
        h.conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="schema version 99"):
        open_history(db)


def _recorded(h, rep, code=0):
    h.record(facts.report_row(rep, None, code))


def test_latency_growth_fails_the_regression_gate_on_an_emulated_board(tmp_path):
    with open_history(tmp_path / "h.sqlite") as h:
        _recorded(h, make_report("r1"))
        same = with_baseline(h, "last-pass", make_report("r2"), GatesCfg(), emulated=True)
        assert same.baseline.run_id == "r1" and same.gates.passed
        slower = with_baseline(h, "last-pass", make_report("r3", ticks_scale=1.001), GatesCfg(), emulated=True)
        failed = [c for c in slower.gates.checks if not c.passed]
        assert [c.name for c in failed] == ["regression.latency_growth"] and failed[0].value > 0
        # A real board tolerates the same growth (2 % by default).
        assert with_baseline(h, "last-pass", make_report("r4", ticks_scale=1.001), GatesCfg(), emulated=False).gates.passed


def test_arena_growth_fails_and_a_different_window_count_is_not_compared(tmp_path):
    with open_history(tmp_path / "h.sqlite") as h:
        _recorded(h, make_report("r1"))
        rep = with_baseline(h, "last-pass", make_report("r2", windows=20, arena=30_100), GatesCfg(), emulated=True)
        assert [c.name for c in rep.gates.checks if c.name.startswith("regression.")] == [
            "regression.arena_growth", "regression.flash_growth", "regression.ram_growth"]
        assert not rep.gates.passed and "not compared" in rep.baseline.notes[0]


def test_pin_and_failed_runs_choose_the_baseline(tmp_path):
    with open_history(tmp_path / "h.sqlite") as h:
        for rid, code in (("r1", 0), ("r2", 0), ("r3", 1)):
            _recorded(h, make_report(rid), code)
        series = facts.report_row(make_report("x"), None, 0)["series"]
        assert bl.choose(h, "last-pass", series, "new")["run_id"] == "r2"  # newest that passed
        h.pin("r1")
        assert bl.choose(h, "last-pass", series, "new")["run_id"] == "r1"
        assert bl.choose(h, "none", series, "new") is None
        with pytest.raises(ConfigError, match="no such run"):
            bl.choose(h, "r9", series, "new")


def test_compare_and_the_trend_page(tmp_path):
    db = tmp_path / "h.sqlite"
    with open_history(db) as h:
        _recorded(h, make_report("r1"))
        rep = with_baseline(h, "last-pass", make_report("r2", ticks_scale=1.5), GatesCfg(), emulated=True)
        _recorded(h, rep, 1)
    res = CliRunner().invoke(cli, ["compare", "r1", "r2", "--history", str(db), "--json"])
    assert res.exit_code == 0, res.output
    lat = next(m for m in json.loads(res.output)["metrics"] if m["metric"] == "latency.median")
    assert lat["verdict"] == "worse" and lat["delta"] > 0
    res = CliRunner().invoke(cli, ["history", "--history", str(db), "report", "--out", str(tmp_path / "page")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "page" / "index.html").read_text()
    assert "regression in the newest run" in page and page.count("data:image/png;base64,") >= 3


@pytest.mark.parametrize("entry, words", [("{board: nosuch}", "entries[0].board 'nosuch'"),
                                          ("{board: qemu-m4, engine: nosuch}", "entries[0].engine 'nosuch'")])
def test_a_plan_naming_an_unknown_board_or_engine_is_refused(tmp_path, entry, words):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"boards_file: {REPO}/boards.yaml\nentries:\n  - {entry}\n")
    res = CliRunner().invoke(cli, ["nightly", str(plan)])
    assert res.exit_code == 3 and words in res.output
    assert not (tmp_path / "runs").exists()


def test_the_per_op_profile_totals_are_part_of_the_numbers():
    rep = make_report("r1")
    rep.profile = [EngineProfile.model_validate({"engine": "aot", "unit": "qemu_instructions", "invokes": 5, "total": 900.0, "invoke": 1000.0,
                    "overhead_share": 0.1, "ops": [],
                    "by_type": [{"op": "CONV_2D", "ops": 2, "counts": 600.0, "share": 0.667},
                                {"op": "MEAN", "ops": 1, "counts": 300.0, "share": 0.333}]})]
    rep = Report.model_validate(rep.to_json())
    nums = facts.numbers(rep)
    assert nums["profile.CONV_2D"] == 600.0 and nums["profile.MEAN"] == 300.0
    assert not any(k.startswith("profile.") for k in facts.numbers(make_report("r2")))


def test_two_kernel_sets_of_one_engine_are_two_series():
    def tflm(kernels):
        doc = make_report("r").to_json()
        doc.update(engine="tflm", kernels=kernels)
        doc["firmware"]["kernels"] = kernels
        return facts.report_row(Report.model_validate(doc), None, 0)

    ref, cmsis = tflm("reference"), tflm("cmsis-nn")
    assert ref["kernels"] == "reference" and cmsis["kernels"] == "cmsis-nn"
    assert ref["series"] != cmsis["series"] and "|cmsis-nn|" in cmsis["series"]


def test_a_plan_entry_sets_a_real_boards_latency_tolerance_and_it_is_applied(tmp_path):
    from hil import nightly
    from hil.scoring.gates import apply_overrides

    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"boards_file: {REPO}/boards.yaml\nentries:\n"
                         "  - {board: apollo4, engine: aot, gates: [max_latency_growth_pct=5]}\n"
                         "  - {board: apollo4, engine: tflm}\n")
    plan = nightly.load_plan(plan_file)
    tolerant, default = (apply_overrides(GatesCfg(), nightly._options(plan, e, tmp_path / "out").gates)
                         for e in plan.entries)
    assert (tolerant.max_latency_growth_pct, default.max_latency_growth_pct) == (5.0, 2.0)
    with open_history(tmp_path / "h.sqlite") as h:
        _recorded(h, make_report("r1"))
        jittered = make_report("r2", ticks_scale=1.03)  # 3 % more cycles than its baseline
        assert with_baseline(h, "last-pass", jittered, tolerant, emulated=False).gates.passed
        failed = with_baseline(h, "last-pass", make_report("r3", ticks_scale=1.03), default, emulated=False)
        assert [c.name for c in failed.gates.checks if not c.passed] == ["regression.latency_growth"]


def test_a_plan_entry_with_an_unknown_gate_is_refused_before_anything_runs(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"boards_file: {REPO}/boards.yaml\nentries:\n  - {{board: qemu-m4}}\n"
                    "  - {board: apollo4, gates: [max_latency_growth=5]}\n")
    res = CliRunner().invoke(cli, ["nightly", str(plan)])
    assert res.exit_code == 3 and "entries[1].gates" in res.output and "max_latency_growth_pct" in res.output
    assert not (tmp_path / "runs").exists()


def test_import_of_a_run_of_several_engines_records_each_engine(tmp_path):
    from hil.scoring import engines as eng

    run = tmp_path / "20240101-020000-qemu-m4"
    subs = [make_report(f"{run.name}/aot"), make_report(f"{run.name}/tflm-cmsis-nn", ticks_scale=2.0)
            .model_copy(update={"engine": "tflm", "kernels": "cmsis-nn"})]
    entries = []
    for label, sub in zip(("aot", "tflm-cmsis-nn"), subs):
        eng.engine_dir(run, label).mkdir(parents=True)
        report.write_report_json(eng.engine_dir(run, label), sub)
        entries.append(eng.finished(label, f"engines/{label}", sub, np.full(sub.windows, 10_000), "--engines"))
    report.write_report_json(run, eng.combine(run.name, entries, subs, {}, {}))
    hist = tmp_path / "h.sqlite"
    r = CliRunner().invoke(cli, ["history", "--history", str(hist), "import", str(run)])
    assert r.exit_code == 0, r.output
    with open_history(hist) as h:
        rows = {row["run_id"]: row for row in h.rows()}
    assert sorted(rows) == [f"{run.name}/aot", f"{run.name}/tflm-cmsis-nn"]
    assert rows[f"{run.name}/tflm-cmsis-nn"]["run_dir"] == str(eng.engine_dir(run, "tflm-cmsis-nn").resolve())
    assert rows[f"{run.name}/aot"]["series"] != rows[f"{run.name}/tflm-cmsis-nn"]["series"]
