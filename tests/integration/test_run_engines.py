"""``hil run --engines aot,tflm``: the same windows through both real images on QEMU, one report.

Both images are really built (the tflm one is the image tests/integration/test_tflm_engine.py builds for the
same tiny model: reused when fresh) and really booted; the failure is real too: QEMU is killed (SIGKILL)
while the second engine streams.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from hil.errors import EXIT_INFRA, HilError
from hil.run import run_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.qemu, pytest.mark.needs_tree("tflm")]

N = 24
LABELS = ["aot", "tflm-cmsis-nn"]  # qemu-m4's kernels


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _history(path):
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return {r["run_id"]: dict(r) for r in conn.execute("SELECT * FROM runs")}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def engines_run(run_setup, tmp_path_factory):
    """One run of both engines through the CLI (--json), shared by the checks below."""
    base = tmp_path_factory.mktemp("engines")
    out, history = base / "r", base / "history.sqlite"
    p = subprocess.run(
        [sys.executable, "-m", "hil.cli", "run", "--no-train", "--engines", "aot,tflm", "--model", str(run_setup.model),
         "--dataset", str(run_setup.dataset), "--work", str(run_setup.work), "--windows", str(N), "--devices", "1",
         "--out", str(out), "--history", str(history), "--json"],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    return p, out, history


def test_one_report_with_both_engines_bit_exact(engines_run):
    p, out, _ = engines_run
    assert p.returncode == 0, p.stderr[-3000:]
    rep = json.loads(p.stdout)
    assert rep == json.loads((out / "report.json").read_text()) and rep["schema_version"] == 2
    assert [e["label"] for e in rep["engines"]] == LABELS and [e["engine"] for e in rep["engines"]] == ["aot", "tflm"]
    for e in rep["engines"]:
        assert e["status"] == "passed" and e["windows"] == N and e["dir"] == f"engines/{e['label']}"
        assert e["agreement"]["exact_match"] == 1.0 and e["agreement"]["top1"] == 1.0
        assert e["agreement_tflm_host"]["exact_match"] == 1.0
        lat = e["latency"]
        assert lat["unit"] == "qemu_instructions" and 0 < lat["median"] <= lat["p90"] <= lat["max"]
        assert all(e["memory"][k] > 0 for k in ("arena_bytes", "flash_bytes", "ram_bytes"))
        assert e["profile"]["total"] > 0 and e["profile"]["by_type"]["CONV_2D"] > 0
    aot, tflm = rep["engines"]
    assert aot["kernels"] is None and tflm["kernels"] == "cmsis-nn"
    assert aot["firmware_sha256"] != tflm["firmware_sha256"]
    assert aot["latency"]["median"] != tflm["latency"]["median"]  # two images, two instruction counts
    assert {p_["engine"] for p_ in rep["profile"]} == {"aot", "tflm"}  # both profiles, side by side


def test_same_windows_in_each_engines_folder(engines_run):
    _, out, _ = engines_run
    rows = {label: _lines(out / "engines" / label / "results.jsonl") for label in LABELS}
    assert not (out / "results.jsonl").exists()
    ident = {label: sorted((r["index"], r["true"], json.dumps(r["ref"])) for r in rs) for label, rs in rows.items()}
    assert len(ident["aot"]) == N and ident["aot"] == ident["tflm-cmsis-nn"]
    for label in LABELS:
        sub = json.loads((out / "engines" / label / "report.json").read_text())
        assert sub["engine"] == label.split("-")[0] and sub["engines"] is None and sub["windows"] == N
        assert "qemu-system-arm" in (out / "engines" / label / "flash.log").read_text()


def test_gates_and_junit_per_engine(engines_run):
    _, out, _ = engines_run
    rep = json.loads((out / "report.json").read_text())
    checks = rep["gates"]["checks"]
    names = {label: [c["name"] for c in checks if c["engine"] == label] for label in LABELS}
    assert names["aot"] and names["aot"] == names["tflm-cmsis-nn"] and rep["gates"]["passed"]
    assert [c["name"] for c in rep["engines"][1]["gates"]["checks"]] == names["tflm-cmsis-nn"]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    cases = [(tc.get("classname"), tc.get("name")) for tc in suite.findall("testcase")]
    assert cases == [(f"hil.gates.qemu-m4.{c['engine']}", c["name"]) for c in checks]
    assert suite.get("tests") == str(len(checks)) and suite.get("failures") == "0" and suite.get("errors") == "0"


class _Page(HTMLParser):
    """The page's tables (rows of cell texts), image alts and links."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.alts: list[str] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.alts.append(a.get("alt", ""))
        elif tag == "a":
            self.links.append(a.get("href", ""))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None


def test_page_puts_the_engines_side_by_side(engines_run):
    _, out, _ = engines_run
    page = _Page()
    page.feed((out / "report.html").read_text())
    side = next(t for t in page.tables if t and t[0][:3] == ["engine", "kernels", "result"])
    assert [row[0] for row in side[1:]] == LABELS and all(row[2] == "passed" for row in side[1:])
    heads = side[0]
    for row in side[1:]:
        assert row[heads.index("exact vs TFLite")] == "1.0000" and row[heads.index("exact vs TFLM host")] == "1.0000"
    gates = next(t for t in page.tables if t and t[0][:2] == ["engine", "gate"])
    assert sorted({row[0] for row in gates[1:]}) == LABELS
    assert {"latency per engine", "memory per engine"} <= set(page.alts)
    assert page.links == [f"engines/{label}/report.html" for label in LABELS]
    assert all((out / link).is_file() for link in page.links)


def test_history_records_each_engine_series(engines_run):
    _, out, history = engines_run
    rows = _history(history)
    ids = [f"{out.name}/{label}" for label in LABELS]
    assert sorted(rows) == sorted(ids)
    aot, tflm = (rows[i] for i in ids)
    assert (aot["engine"], aot["kernels"]) == ("aot", None) and (tflm["engine"], tflm["kernels"]) == ("tflm", "cmsis-nn")
    assert aot["series"] != tflm["series"] and aot["passed"] == tflm["passed"] == 1
    assert json.loads(tflm["numbers"])["agreement.exact_match"] == 1.0


def test_second_engine_failing_keeps_the_first_and_resume_finishes(run_setup, qemu_spy, tmp_path):
    out, history = tmp_path / "r", tmp_path / "history.sqlite"
    opts = run_setup.options(out, windows=N, engine=None, engines=["aot", "tflm"], max_recoveries=0, history=history)
    tflm_results = out / "engines" / "tflm-cmsis-nn" / "results.jsonl"
    qemu_spy.when_results(tflm_results, 8, qemu_spy.kill)
    with pytest.raises(HilError) as e:
        run_pipeline(opts)
    assert e.value.exit_code == EXIT_INFRA and "engine tflm-cmsis-nn" in str(e.value)
    rep = json.loads((out / "report.json").read_text())  # written from the engine that finished
    aot, tflm = rep["engines"]
    assert aot["status"] == "passed" and aot["agreement"]["exact_match"] == 1.0
    assert tflm["status"] == "error" and tflm["error"] and 8 <= tflm["windows"] < N and not rep["gates"]["passed"]
    assert len(_lines(out / "engines" / "aot" / "results.jsonl")) == N
    assert any("tflm-cmsis-nn did not finish" in w for w in rep["warnings"])
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    errors = [tc for tc in suite.findall("testcase") if tc.find("error") is not None]
    assert suite.get("errors") == "1" and [tc.get("classname") for tc in errors] == ["hil.gates.qemu-m4.tflm-cmsis-nn"]
    rows = _history(history)
    assert rows[f"{out.name}/aot"]["report"] and rows[f"{out.name}/tflm-cmsis-nn"]["exit_status"] == EXIT_INFRA
    kept = len(_lines(tflm_results))

    res = run_pipeline(run_setup.options(out, windows=N, engine=None, engines=["aot", "tflm"], resume=True,
                                         history=history))
    assert res.passed and [e.status for e in res.report.engines] == ["passed", "passed"]
    sub = json.loads((out / "engines" / "tflm-cmsis-nn" / "report.json").read_text())
    assert sub["stream"]["resumed"] == kept and sub["stream"]["scored"] == N - kept  # only the missing windows
    assert sub["agreement"]["exact_match"] == 1.0
    assert len(_lines(out / "engines" / "aot" / "results.jsonl")) == N  # aot streamed nothing again
    assert _history(history)[f"{out.name}/tflm-cmsis-nn"]["passed"] == 1


def test_all_is_every_engine_buildable_here_the_boards_first(run_setup, tmp_path):
    from hil.engines import engine_names
    from hil.run import plan_run

    plan = plan_run(run_setup.options(tmp_path / "r", engine=None, engines=["all"]))
    try:
        assert [c.engine.label for c in plan.choices][:1] == ["tflm-cmsis-nn"]  # qemu-m4's engine, its kernels
        assert sorted(c.name for c in plan.choices) == sorted(engine_names()) and plan.notes == []
        assert all(c.reason == "chosen with --engines all" for c in plan.choices)
    finally:
        plan.release()
    assert not (tmp_path / "r").exists()  # planning runs nothing
