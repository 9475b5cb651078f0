"""UI vs sensor vs CLI: the same demo inbox run three ways, side by side, each on a fresh warehouse.

* **CLI**: `claimback run` in a child process (what cron and `make demo` run), wall time.
* **UI**: the run the UI's "Materialize all" / Launchpad starts, submitted through the same GraphQL
  mutation (`launchRun`) to a `dagster dev` started as `claimback ui` starts it; timed from the
  click to the run's end, and the run's own duration (Dagster's start and end times). Run with the
  job's default executor (in process) and, for comparison, with `multiprocess` (Dagster's own
  default, which every UI run used before: a process and an import of the code location per step).
* **sensor**: `inbox_sensor` switched on in the same `dagster dev`; timed from the run's creation by
  the sensor to its end (the wait for the next tick is the sensor's interval, not the run's cost).

    .venv/bin/python bench/ui_bench.py                 # the demo inbox: 5,000 claims
    .venv/bin/python bench/ui_bench.py --claims 1500 --repeat 2

Results: bench/results/ui-<timestamp>.json (git-ignored) and a Markdown table on stdout, which is
what bench/README.md records. Everything stays on 127.0.0.1; the server is stopped by its pid.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
AS_OF = date(2026, 11, 20)
SELECTOR = {"repositoryLocationName": "claimback", "repositoryName": "__repository__"}
RUN_TIMEOUT_S = 900


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`dagster dev` on a fresh DAGSTER_HOME, as `claimback ui` starts it; GraphQL on loopback."""

    def __init__(self, inbox: Path, warehouse: Path, home: Path, log: Path):
        sys.path.insert(0, str(ROOT))
        from pipelines.instance import prepare_home

        prepare_home(home)
        self.port = _free_port()
        env = {**os.environ, "CLAIMBACK_INBOX": str(inbox), "CLAIMBACK_WAREHOUSE": str(warehouse),
               "CLAIMBACK_AS_OF": AS_OF.isoformat(), "DAGSTER_HOME": str(home)}
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
             "-p", str(self.port)], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise RuntimeError(payload["errors"])
        return payload["data"]

    def wait_loaded(self, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                entries = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
                if any(e["loadStatus"] == "LOADED" for e in entries["workspaceOrError"]["locationEntries"]):
                    return
            except OSError:
                pass
            time.sleep(1)
        raise RuntimeError("the code location did not load")

    def launch(self, run_config: dict) -> str:
        data = self.graphql(
            """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
                 ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
                 ... on RunConfigValidationInvalid { errors { message } } } }""",
            {"p": {"selector": {**SELECTOR, "jobName": "claimback"}, "runConfigData": run_config}})
        result = data["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(result)
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.graphql('{ runOrError(runId: "%s") { ... on Run { status creationTime startTime endTime } } }'
                            % run_id)["runOrError"]

    def wait_done(self, run_id: str) -> dict:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                return run
            time.sleep(0.5)
        raise RuntimeError(f"run {run_id} did not finish in {RUN_TIMEOUT_S}s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this script started
            self.process.wait(timeout=30)
        self._log.close()


def cli_run(inbox: Path, warehouse: Path) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(inbox), "--warehouse",
                    str(warehouse), "--as-of", AS_OF.isoformat(), "-q"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.monotonic() - start


def ui_run(server: Server, inbox: Path, warehouse: Path, executor: str) -> dict:
    config = {"resources": {"claimback": {"config": {"inbox": str(inbox), "warehouse": str(warehouse),
                                                     "as_of": AS_OF.isoformat()}}},
              "execution": {"config": {executor: {}}}}
    clicked = time.time()
    run = server.wait_done(server.launch(config))
    assert run["status"] == "SUCCESS", run
    return {"click_to_end_s": run["endTime"] - clicked, "run_s": run["endTime"] - run["startTime"]}


def sensor_run(server: Server) -> dict:
    server.graphql("""mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }""",
                   {"s": {**SELECTOR, "sensorName": "inbox_sensor"}})
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        runs = server.graphql('{ runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "inbox_sensor"}]}) '
                              '{ ... on Runs { results { runId } } } }')["runsOrError"]["results"]
        if runs:
            run = server.wait_done(runs[0]["runId"])
            assert run["status"] == "SUCCESS", run
            return {"created_to_end_s": run["endTime"] - run["creationTime"], "run_s": run["endTime"] - run["startTime"]}
        time.sleep(1)
    raise RuntimeError("the sensor started no run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--work", default=str(ROOT / "data" / "bench-ui"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from claimback.synth import generate

    work = Path(args.work)
    inbox = work / f"inbox-{args.claims}"
    if not inbox.is_dir():
        generate(inbox, claims=args.claims, seed=7, as_of=AS_OF)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    root = work / stamp
    rows: list[dict] = []
    for attempt in range(args.repeat):
        rows.append({"way": "CLI (claimback run)", "s": cli_run(inbox, root / f"cli-{attempt}")})
    server = Server(inbox, root / "sensor", root / "dagster_home", root / "dagster-dev.log")
    try:
        server.wait_loaded()
        for attempt in range(args.repeat):
            for executor in ("in_process", "multiprocess"):
                timing = ui_run(server, inbox, root / f"ui-{executor}-{attempt}", executor)
                label = "UI, in process (default)" if executor == "in_process" else "UI, multiprocess (the old default)"
                rows.append({"way": label, "s": timing["click_to_end_s"], "run_s": timing["run_s"]})
        timing = sensor_run(server)
        rows.append({"way": "sensor (in process: a normal drop)", "s": timing["created_to_end_s"], "run_s": timing["run_s"]})
    finally:
        server.stop()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ui-{stamp}.json"
    out.write_text(json.dumps({"claims": args.claims, "files": sum(1 for _ in inbox.iterdir()), "rows": rows}, indent=2))
    print(f"\n{args.claims:,} claims, {sum(1 for _ in inbox.iterdir())} files, fresh warehouse each run ({out.name})\n")
    print("| how the run started | wall (click / creation to end) | the run itself (Dagster start to end) |")
    print("|---|---:|---:|")
    for row in rows:
        run_s = f"{row['run_s']:.1f} s" if "run_s" in row else "—"
        print(f"| {row['way']} | {row['s']:.1f} s | {run_s} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
