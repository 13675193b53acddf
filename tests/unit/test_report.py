"""report.json keys, junit.xml (one testcase per gate), report.html (self-contained, plots inline)."""

import base64
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

from hil.config import GatesCfg, load_boards
from hil.scoring import compare, report
from hil.scoring.gates import evaluate

NAMES = ["SR", "SB", "AFIB", "GSVT"]


@pytest.fixture(scope="module")
def sample():
    """A report built by the real compare/gates functions from made-up device and reference outputs."""
    rng = np.random.default_rng(1)
    n = 40
    y = rng.integers(0, 4, n)
    ref = rng.integers(-128, 128, (n, 4)).astype(np.int8)
    dev = ref.copy()
    dev[3, 1] = np.int8(int(dev[3, 1]) ^ 1)  # one LSB off in one window
    board = load_boards("boards.yaml").boards["qemu-m4"]
    ticks = rng.integers(10_000, 12_000, n)
    m = {k: compare.metrics(y, compare.dequantize(o, 0.1, 0), NAMES, 0.5)
         for k, o in {"keras": ref, "tflite": ref, "tflm_host": ref, "device": dev}.items()}
    rep = {
        "board": "qemu-m4", "engine": "aot", "windows": n, "timings": {"data": 1.0, "stream": 2.5},
        "model": {"name": "rhythm-4-effv2", "sha256": "ab" * 32, "params": 32192, "tflite_bytes": 60000},
        "firmware": {"sha256": "cd" * 32, "text": 100, "data": 10, "bss": 2000},
        "dataset": {"name": "synthetic", "path": "/x", "split": "test", "class_counts": {k: 10 for k in NAMES}},
        "metrics": m,
        "agreement": compare.agreement(dev, ref, scale=0.1),
        "latency": compare.latency(ticks, board),
        "memory": compare.memory({"text": 100, "data": 10, "bss": 2000}, 30_000),
    }
    rep["gates"] = evaluate(GatesCfg(max_arena_bytes=40_000), rep)
    x = rng.normal(size=(4, 800)).astype(np.float32)
    plots = report.PlotData(NAMES, ticks=ticks, examples_x=x, examples_true=[0, 1, 2, 3], examples_pred=[0, 1, 3, 3],
                            examples_ref=["JS00001 lead 0 @0"] * 4)
    return rep, plots


def test_report_json_has_every_architecture_key(tmp_path, sample):
    rep, _ = sample
    path = report.write_report_json(tmp_path, rep)
    doc = json.loads(path.read_text())
    assert report.missing_keys(doc) == []
    assert doc["latency"]["unit"] == "qemu_instructions" and doc["latency"]["ms"] is None
    assert doc["agreement"]["exact_match"] == pytest.approx(39 / 40)


def test_report_json_refuses_missing_keys(tmp_path, sample):
    rep, _ = sample
    broken = {k: v for k, v in rep.items() if k != "memory"}
    broken["metrics"] = {**rep["metrics"], "device": {"accuracy": 1.0}}
    with pytest.raises(ValueError) as e:
        report.write_report_json(tmp_path, broken)
    assert "memory.arena_bytes" in str(e.value) and "metrics.device.confusion" in str(e.value)
    assert not (tmp_path / "report.json").exists()


def test_junit_has_one_testcase_per_gate(tmp_path, sample):
    rep, _ = sample
    root = ET.parse(report.write_junit(tmp_path, rep)).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["name"] for c in rep["gates"]["checks"]]
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"exact_match"}  # the one flipped LSB
    assert suite.get("failures") == "1" and suite.get("tests") == str(len(cases))


def test_html_is_self_contained_with_valid_pngs(tmp_path, sample):
    rep, plots = sample
    text = report.write_html(tmp_path, rep, plots).read_text()
    assert not re.search(r"""(src|href)=['"]https?://""", text)  # nothing fetched when opened offline
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    # the device's confusion matrix (+ the references' where they differ) + latency histogram + example windows
    differ = rep["metrics"]["device"]["confusion"] != rep["metrics"]["tflite"]["confusion"]
    assert len(pngs) == 3 + 3 * differ
    for p in pngs:
        assert base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "FAILED" in text and "exact_match" in text
    assert "guest instructions" in text  # emulated timings are labelled as such


def test_pick_examples_prefers_mistakes_then_each_class():
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    p = np.array([0, 1, 1, 1, 2, 0, 3, 3])
    ex = report.pick_examples(y, p, k=5)
    assert ex[:2] == [1, 5]
    assert {int(y[i]) for i in ex[2:]} == {0, 1, 2}
    assert len(set(ex)) == 5


def test_report_json_carries_its_schema_version_and_loads_back_typed(tmp_path, sample):
    from hil.scoring.report_model import SCHEMA_VERSION, load_report

    rep, _ = sample
    doc = json.loads(report.write_report_json(tmp_path, {**rep, "custom_metric": {"x": 1}}).read_text())
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    loaded = load_report(tmp_path / "report.json")
    assert loaded.schema_version == 2 and loaded.agreement.exact_match == pytest.approx(39 / 40)
    assert loaded.gates.checks[-1].name == "max_arena_bytes" and loaded["custom_metric"] == {"x": 1}  # extras kept
    assert loaded.to_json() == doc


def test_a_version_1_report_still_loads(tmp_path, sample):
    """hil 0.1 wrote no schema_version and no warnings: the nightly history reads those files too."""
    from hil.scoring.report_model import load_report

    rep, _ = sample
    v1 = report.as_document(rep)
    v1.pop("schema_version", None)
    v1.pop("warnings", None)
    (tmp_path / "report.json").write_text(json.dumps(v1))
    old = load_report(tmp_path / "report.json")
    assert old.schema_version == 1 and old.warnings == []
    assert old.latency.unit == "qemu_instructions" and old.latency.cycles.median > 0
    assert old.metrics.device.confusion == rep["metrics"]["device"]["confusion"]


@pytest.mark.parametrize("change, words", [
    ({"schema_version": 99}, ["schema_version 99", "versions 1 to 2"]),
    ({"agreement": {"top1": "high"}}, ["agreement.top1"]),
])
def test_an_unreadable_report_is_named(tmp_path, sample, change, words):
    from hil.errors import ConfigError
    from hil.scoring.report_model import load_report

    doc = {**report.as_document(sample[0]), **change}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as e:
        load_report(path)
    assert str(path) in str(e.value) and all(w in str(e.value) for w in words)


class _Page(HTMLParser):
    """Cells of every table (by h2 section), image alts in order, and the text of the page."""

    def __init__(self):
        super().__init__()
        self.section, self.cells, self.alts, self.text = "", {}, [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.section = ""
            self._cell = "h2"
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.alts.append(dict(attrs)["alt"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.setdefault(self.section, []).append(self._cell)
            self._cell = None
        elif tag == "h2":
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell == "h2":
            self.section += data
        elif self._cell is not None:
            self._cell += data


def _page(rep, plots, tmp_path):
    text = report.write_html(tmp_path, rep, plots).read_text()
    page = _Page()
    page.feed(text)
    return text, page


def test_html_cells_are_escaped_trimmed_and_explained(tmp_path, sample):
    rep, plots = sample
    text, page = _page(rep, plots, tmp_path)
    assert "<=" not in text and ">=" not in text  # comparisons escaped (report.json's too)
    assert all(line == line.rstrip() for line in text.splitlines())
    cells = [c for section in page.cells.values() for c in section]
    assert cells and all(c == c.strip() for c in cells)
    body = "".join(page.text)
    assert "BUILTIN_REF" in body and "reference kernels" in body  # the reference named and explained
    assert "set aside" in body and "top class probability" in body  # thresholded columns explained
    memory = page.cells["Memory"]
    assert "30,000 B (29.3 KiB)" in memory and all(" B (" in c for c in memory[3:])


def test_html_timings_have_every_stage_and_a_total(tmp_path, sample):
    rep, plots = sample
    rep = {**rep, "timings": {"data": 1.0, "stream": 2.5, "report": 0.25}}
    _, page = _page(rep, plots, tmp_path)
    cells = page.cells["Stage timings"]
    assert cells[cells.index("report") + 1] == "0.2" or cells[cells.index("report") + 1] == "0.3"
    assert cells[-2:] == ["total", "3.8"]


def test_device_confusion_first_and_references_only_where_they_differ(tmp_path, sample):
    rep, plots = sample
    metrics = {k: dict(v) for k, v in rep["metrics"].items()}
    metrics["tflite"]["confusion"] = [row[:] for row in metrics["device"]["confusion"]]
    metrics["tflm_host"]["confusion"] = [row[:] for row in metrics["device"]["confusion"]]
    metrics["keras"]["confusion"] = [[c + 1 for c in row] for row in metrics["device"]["confusion"]]
    _, page = _page({**rep, "metrics": metrics}, plots, tmp_path)
    confusion = [a for a in page.alts if a.startswith("confusion")]
    assert confusion == ["confusion device", "confusion keras"]
    assert "Identical to the device's: TFLite int8 (host, reference kernels), TFLM int8 (host)." in "".join(page.text)


def test_a_negative_accuracy_drop_reads_as_the_device_doing_better(tmp_path, sample):
    rep, plots = sample
    metrics = {k: dict(v) for k, v in rep["metrics"].items()}
    metrics["keras"]["accuracy"] = metrics["device"]["accuracy"] - 0.01
    rep = {**rep, "metrics": metrics}
    rep["gates"] = evaluate(GatesCfg(), rep)
    _, page = _page(rep, plots, tmp_path)
    assert "device better than Keras by 0.0100" in "".join(page.text)


def test_latency_histogram_axis_in_plain_numbers():
    assert report.count_scale(4_018_200) == (1e6, "M")
    assert report.count_scale(11_000) == (1e3, "k")


def test_junit_testcases_carry_the_time_of_the_stage_that_measured_them(tmp_path, sample):
    rep, _ = sample
    rep = {**rep, "timings": {"build": 3.0, "stream": 2.5, "references": 1.5}}
    cases = ET.parse(report.write_junit(tmp_path, rep)).getroot().find("testsuite").findall("testcase")
    times = {c.get("name"): float(c.get("time")) for c in cases}
    assert times["exact_match"] == 4.0 and times["max_arena_bytes"] == 5.5


def test_report_json_numbers_are_rounded_and_counts_are_integers(tmp_path, sample):
    rep, _ = sample
    lat = dict(rep["latency"])
    lat["cycles"] = {**lat["cycles"], "mean": 4017899.1666666665, "median": 4018200.0}
    metrics = {k: dict(v) for k, v in rep["metrics"].items()}
    metrics["device"]["thresholded"] = {**metrics["device"]["thresholded"], "dropped": 0.14583333333333337}
    doc = json.loads(report.write_report_json(tmp_path, {**rep, "latency": lat, "metrics": metrics,
                                                           "timings": {"flash": 0.09022009000000253}}).read_text())
    assert doc["latency"]["cycles"]["median"] == 4018200 and isinstance(doc["latency"]["cycles"]["median"], int)
    assert doc["latency"]["cycles"]["mean"] == 4017899
    assert doc["metrics"]["device"]["thresholded"]["dropped"] == 0.145833
    assert doc["timings"]["flash"] == 0.09
    text = (tmp_path / "report.json").read_text()
    assert not re.search(r"\d\.\d{10,}", text)  # no float printed to 10+ digits anywhere


def test_html_devices_section_has_each_devices_share(tmp_path, sample):
    rep, plots = sample
    shares = [{"device": 0, "board": "qemu-m4#0", "scored": 25, "recoveries": 1, "seconds": 3.0,
               "errors": ["link: timeout <window 7>"]},
              {"device": 1, "board": "qemu-m4#1", "scored": 15, "recoveries": 0, "seconds": 3.0}]
    text, page = _page({**rep, "devices": {"count": 2, "shares": shares}}, plots, tmp_path)
    cells = page.cells["Devices (2)"]
    assert cells[:6] == ["device", "board", "windows scored", "recoveries", "seconds", "errors"]
    assert cells[6:12] == ["0", "qemu-m4#0", "25", "1", "3.0", "link: timeout <window 7>"]  # escaped in the page
    assert cells[12:15] == ["1", "qemu-m4#1", "15"]
    _, single = _page(rep, plots, tmp_path)
    assert not any(k.startswith("Devices") for k in single.cells)  # a report without the section has none


def test_the_per_op_profile_has_integer_counts_and_rounded_shares():
    from hil.scoring.report_model import EngineProfile

    prof = EngineProfile.model_validate({
        "engine": "aot", "unit": "qemu_instructions", "invokes": 4, "total": 4013560.0, "invoke": 4013820.0,
        "overhead_share": 6.477916349980541e-05,
        "ops": [{"index": 0, "op": "RESHAPE", "counts": 40.0, "share": 9.966214532734031e-06},
                {"index": 1, "op": "CONV_2D", "counts": 546660.5, "share": 0.13620327091160964}],
        "by_type": [{"op": "CONV_2D", "ops": 1, "counts": 546660.5, "share": 0.13620327091160964}]})
    doc = json.loads(json.dumps(prof.model_dump(mode="json")))
    assert doc["total"] == 4013560 and isinstance(doc["total"], int) and isinstance(doc["ops"][0]["counts"], int)
    assert doc["ops"][1]["counts"] == 546660.5  # a median between two invokes' counts stays exact
    assert doc["ops"][0]["share"] == 1e-05 and doc["by_type"][0]["share"] == 0.136203
    assert doc["overhead_share"] == 6.5e-05
