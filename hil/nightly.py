"""``hil nightly PLAN.yaml``: every entry of a plan run in turn, infrastructure failures retried.

Each attempt is a ``hil run`` in its own folder ``<runs>/<night>/<night>-<entry>-a<N>``
and a row of the history (a failed attempt too, with its error and retry
count).  One JUnit file has a test case per (entry, gate) and one per entry
that never produced a report; one summary page is the history's trend page.
Exit: 0 every gate passed, 1 a gate or regression failed, 2 infrastructure
still failing after the retries, 3 a usage error.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from hil import ui
from hil.errors import EXIT_GATE_FAILED, EXIT_INFRA, EXIT_OK, ConfigError, HilError
from hil.schema import StrictModel

JUNIT = "nightly-junit.xml"
SUMMARY = "summary"


class PlanEntry(StrictModel):
    board: str = Field(description="A board of boards.yaml.")
    engine: str | None = Field(None, description="A registered engine (default: the board's).")
    kernels: str | None = Field(None, description="Kernel set, where the engine offers several.")
    windows: int | None = Field(None, gt=0, description="Windows to score (default: the plan's).")
    gates: list[str] = Field(default_factory=list, description="KEY=VALUE gate overrides for this entry.")
    max_recoveries: int | None = Field(None, ge=0, description="In-run device recoveries (default hil run's).")
    devices: int | None = Field(None, ge=1, description="Emulated board: QEMU instances (default hil run's).")

    @property
    def name(self) -> str:
        return "-".join(x for x in (self.board, self.engine or "default", self.kernels) if x)


class Plan(StrictModel):
    entries: list[PlanEntry] = Field(min_length=1)
    model: Path | None = Field(None, description="Model folder (default hil run's).")
    dataset: Path | None = None
    split: str = "test"
    windows: int | None = Field(None, gt=0)
    retries: int = Field(2, ge=0, description="Further attempts after an infrastructure failure (exit 2).")
    retry_pause_s: float = Field(60.0, ge=0, description="Pause before each retry, seconds.")
    runs: Path | None = Field(None, description="Folder of the nights' run folders (default $HIL_RUNS or runs).")
    history: Path | None = Field(None, description="History file (default $HIL_HISTORY or beside the runs folder).")
    work: Path | None = None
    no_train: bool = False
    boards_file: Path | None = None


def load_plan(path: Path) -> Plan:
    """Reads and checks a plan: unknown keys, boards and engines refused before anything runs."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        plan = Plan.model_validate(doc)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the plan ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML ({exc})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{path}: key {'.'.join(str(p) for p in err['loc'])!r}: {err['msg']}") from None
    base = Path(path).resolve().parent
    for key in ("model", "dataset", "runs", "history", "work", "boards_file"):
        v = getattr(plan, key)
        if v is not None and not v.is_absolute():
            setattr(plan, key, base / v)
    _check_entries(plan, path)
    return plan


def _check_entries(plan: Plan, path: Path) -> None:
    from hil.config import GatesCfg, load_boards
    from hil.engines import engine_names
    from hil.scoring.gates import apply_overrides

    boards = load_boards(plan.boards_file).boards
    engines = engine_names()
    for i, e in enumerate(plan.entries):
        if e.board not in boards:
            raise ConfigError(f"{path}: entries[{i}].board {e.board!r}: not in boards.yaml "
                              f"(boards: {', '.join(boards)})")
        if e.engine is not None and e.engine not in engines:
            raise ConfigError(f"{path}: entries[{i}].engine {e.engine!r}: not a registered engine "
                              f"(engines: {', '.join(engines)})")
        try:  # a misspelt gate (e.g. a board's latency tolerance) is found before the first entry runs
            apply_overrides(GatesCfg(), e.gates)
        except ConfigError as exc:
            raise ConfigError(f"{path}: entries[{i}].gates: {exc}") from None
    names = [e.name for e in plan.entries]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two entries share board, engine and kernels ({names})")


@dataclass
class Attempt:
    entry: str
    run_dir: Path
    exit_code: int
    error: str | None = None
    gates: list[dict[str, Any]] = field(default_factory=list)


def _options(plan: Plan, e: PlanEntry, out: Path):
    from hil.run import RunOptions

    kw: dict[str, Any] = dict(board=e.board, engine=e.engine, dataset=plan.dataset, split=plan.split,
                              windows=e.windows or plan.windows, out=out, gates=list(e.gates), work=plan.work,
                              no_train=plan.no_train, boards_file=plan.boards_file, show_progress=False,
                              history=plan.history)
    if plan.model is not None:
        kw["model"] = plan.model
    for key in ("max_recoveries", "devices", "kernels"):
        if getattr(e, key) is not None:
            kw[key] = getattr(e, key)
    return RunOptions(**kw)


def _attempt(plan: Plan, e: PlanEntry, night_dir: Path, n: int) -> Attempt:
    from hil.history import open_history
    from hil.run import run_pipeline

    out = night_dir / f"{night_dir.name}-{e.name}-a{n}"  # the folder name is the run id: unique per night
    try:
        res = run_pipeline(_options(plan, e, out))
        a = Attempt(e.name, out, res.exit_code, gates=[c.model_dump(mode="json") for c in res.report.gates.checks])
    except HilError as exc:
        a = Attempt(e.name, out, exc.exit_code, error=str(exc))
    with open_history(plan.history) as h:
        if h.get(out.name) is not None:
            with h.transaction() as c:
                c.execute("UPDATE runs SET retries = ? WHERE run_id = ?", (n - 1, out.name))
    return a


def run_entry(plan: Plan, e: PlanEntry, night_dir: Path) -> list[Attempt]:
    """One entry: attempts until one is not an infrastructure failure, or the retries are spent."""
    attempts = []
    for n in range(1, plan.retries + 2):
        if n > 1:
            ui.info(f"[yellow]{e.name}: infrastructure failure, retry {n - 1}/{plan.retries} "
                    f"in {plan.retry_pause_s:g} s[/yellow]")
            time.sleep(plan.retry_pause_s)
        a = _attempt(plan, e, night_dir, n)
        attempts.append(a)
        ui.info(f"{e.name} attempt {n}: exit {a.exit_code}" + (f" ({a.error})" if a.error else ""))
        if a.exit_code != EXIT_INFRA:
            break
    return attempts


def write_junit(path: Path, results: dict[str, list[Attempt]]) -> None:
    """A test case per (entry, gate) of the entry's last attempt; an error case when it has no report."""
    suite = ET.Element("testsuite", name="hil-nightly")
    cases = 0
    for entry, attempts in results.items():
        last = attempts[-1]
        if not last.gates:
            case = ET.SubElement(suite, "testcase", classname=entry, name="run")
            err = ET.SubElement(case, "error", message=f"exit {last.exit_code} after {len(attempts)} attempts")
            err.text = "\n".join(f"{a.run_dir}: {a.error}" for a in attempts)
            cases += 1
        for g in last.gates:
            case = ET.SubElement(suite, "testcase", classname=entry, name=g["name"])
            if not g["passed"]:
                ET.SubElement(case, "failure", message=f"{g['value']} {g['unit']} not {g['comparison']} {g['limit']}")
            cases += 1
    suite.set("tests", str(cases))
    suite.set("failures", str(len(suite.findall("./testcase/failure"))))
    suite.set("errors", str(len(suite.findall("./testcase/error"))))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def run_nightly(plan: Plan, night: str | None = None) -> tuple[int, Path]:
    """Runs the plan; returns (exit status, night folder with the JUnit file and the summary page)."""
    import os

    from hil.history import open_history
    from hil.history.page import write_page

    runs = plan.runs or Path(os.environ.get("HIL_RUNS", "runs"))
    night_dir = runs / (night or time.strftime("night-%Y%m%d-%H%M%S"))
    night_dir.mkdir(parents=True, exist_ok=True)
    results = {e.name: run_entry(plan, e, night_dir) for e in plan.entries}
    write_junit(night_dir / JUNIT, results)
    with open_history(plan.history) as h:
        write_page(h, night_dir / SUMMARY)
    codes = [a[-1].exit_code for a in results.values()]
    worst = max(codes)
    code = worst if worst > EXIT_GATE_FAILED else (EXIT_GATE_FAILED if EXIT_GATE_FAILED in codes else EXIT_OK)
    return code, night_dir
