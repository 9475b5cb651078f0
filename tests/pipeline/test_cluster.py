"""bench/cluster/run.sh, small: Redis, a local S3 endpoint (moto) and two Celery workers, the job on
Dagster's celery_executor with the inbox and the lake on s3://, and its published tables equal to
a local `claimback run` of the same inbox, row for row. Skipped, saying why, where redis-server or
the cluster packages are missing (`make install` installs both; redis-server needs root and apt-get)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.harness import AS_OF, synth_inbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "cluster" / "run.sh"
MISSING = 77  # run.sh: redis-server or the cluster packages are missing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_two_celery_workers_on_an_s3_lake_publish_what_a_local_run_publishes(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server; `make test` installs "
                    "it when run as root): the cluster run needs it as its Celery broker")
    # 37 files in parse steps of 10: four parse batches for two workers, and every later stage.
    inbox = synth_inbox(tmp_path / "synth", 40, claims_per_file=3).path
    env = {**os.environ, "PYTHON": sys.executable, "AS_OF": AS_OF.isoformat(), "BATCH_FILES": "10",
           "KEEP": str(tmp_path / "cluster")}
    env.pop("AWS_ENDPOINT_URL", None)  # the script starts its own endpoint
    result = subprocess.run(["bash", str(SCRIPT), "2", str(inbox)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=840)
    if result.returncode == MISSING:
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "identical:" in result.stdout
    # Both workers ran steps: the parse batches and stages were spread over them.
    steps = re.search(r"steps run per worker: (\d+) (\d+)", result.stdout)
    assert steps and all(int(n) > 0 for n in steps.groups()), result.stdout
    # Nothing it started is left running.
    started = [int(pid) for pid in re.search(r"started processes ([\d ]+)", result.stdout).group(1).split()]
    assert len(started) == 4  # Redis, moto, two workers
    assert not [pid for pid in started if _running(pid)], "run.sh left processes running"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
