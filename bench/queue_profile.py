"""Where the work queue's time and memory go: each step of `stages.route_denials` after routing's rows.

Runs, in this process, on a finished warehouse (its kept `routing_rows` stand for
`kept_routes.routed_claims`' result, so the routes are not worked out again): the reads and the
overturn model (`build_queue`'s own part), `queue.rank_claims`' steps (windows, P(overturn) and
priority, order), `with_recoupments`, `with_unanswered_claims` (silent claims, rejections,
follow-ups), the write of `work_queue` and `request_decisions` for the packets. Prints each step's
CPU seconds (every thread), wall seconds and the process's resident memory after it and at its
highest. Writes go to a scratch folder, never the warehouse.

    .venv/bin/python bench/queue_profile.py WAREHOUSE 2026-03-04
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss_mb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


class Steps:
    def __init__(self):
        self.rows, self.high = [], 0
        self._done = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._done.is_set():
            self.high = max(self.high, _rss_mb())
            time.sleep(0.01)

    @contextmanager
    def step(self, name: str):
        self.high = _rss_mb()
        cpu, wall = time.process_time(), time.time()
        yield
        self.rows.append((name, time.process_time() - cpu, time.time() - wall, _rss_mb(), self.high))

    def report(self):
        self._done.set()
        print(f"{'step':48s} {'CPU s':>7s} {'wall s':>7s} {'RSS MB':>7s} {'high MB':>8s}")
        for name, cpu, wall, rss, high in self.rows:
            print(f"{name:48s} {cpu:7.2f} {wall:7.2f} {rss:7d} {high:8d}")
        print(f"{'total':48s} {sum(r[1] for r in self.rows):7.2f} {sum(r[2] for r in self.rows):7.2f}")


def main(warehouse: str, as_of: str) -> None:
    import polars as pl

    from claimback import kept_routes, lifecycle, stages
    from claimback.forms.reconsideration import request_decisions
    from claimback.lake import Lake
    from claimback.routing import queue as Q
    from claimback.routing.overturn import fit_overturn_model
    from claimback.routing.rules import load_rules
    from claimback.settings import RECOUPMENT_WAIT_DAYS
    from claimback.forms.channels import channel
    from claimback.routing.unanswered import SILENT_INPUTS, follow_ups, rejection_queue, silent_claim_queue

    day = dt.date.fromisoformat(as_of)
    steps = Steps()
    with tempfile.TemporaryDirectory(prefix="claimback-queue-") as scratch:
        lake = Lake(Path(warehouse))
        out = Lake(Path(scratch))
        rules = load_rules(None)
        with steps.step("read denials, members, resolved, requests"):
            requests = lake.read("reconsiderations")
            denied, members = lake.read("denials"), lake.read("trend_cluster_claims")
            resolved = lake.read("recovered_claims")
        with steps.step("routed_adjudications"):
            adjudications = stages.routed_adjudications(lake, requests,
                                                        pl.concat([denied["claim_key"], resolved["claim_key"]]))
        with steps.step(f"infer_level1_outcomes ({adjudications.height} adjudications)"):
            log_rows = lifecycle.infer_level1_outcomes(requests, adjudications)
        with steps.step("kept routing rows (stand for routed_claims)"):
            routed = lake.read_state(kept_routes.ROWS)
        with steps.step("overturn model (kept, else fitted)"):
            model = fit_overturn_model(Q._history_frame(denied, resolved, adjudications),
                                       Q._level(Q.normalise_log(log_rows), 1), rules.overturn_priors,
                                       stages.KeptOverturnModel(lake))
        with steps.step(f"rank: windows ({routed.height} rows)"):
            claims = Q._apply_windows(routed, rules, day)
        with steps.step("rank: P(overturn), priority"):
            claims = Q._prioritise(claims, model, day)
        with steps.step("rank: conform, order"):
            claims = claims.with_columns(payer_rules_version=pl.lit(rules.version, dtype=pl.String)).rename(
                {"l1_outcome": "level1_outcome", "l1_decided_on": "level1_decided_on"})
            queue = Q.in_queue_order(stages.schema.conform(claims, "work_queue"))

        class Scratch:  # the stage's settings, writing to the scratch lake
            pass
        settings = Scratch()
        settings.lake, settings.payer_rules, settings.as_of = out, None, day
        settings.recoupment_wait_days = RECOUPMENT_WAIT_DAYS
        for path in lake.root.joinpath("derived").iterdir():  # the stage's inputs; its writes replace the links
            target = out.root / "derived" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
        with steps.step("with_recoupments"):
            queue = stages.with_recoupments(settings, queue)
        ask = lambda payer_rule: channel(payer_rule, "status").send_to  # noqa: E731
        with steps.step("silent_claim_queue"):
            silent = out.read("silent_claims", SILENT_INPUTS)
            silent_rows = silent_claim_queue(silent, rules, day, ask)
        with steps.step("rejection_queue"):
            rejected = rejection_queue(out.read("claim_rejections"), rules, day)
        with steps.step(f"concat ({silent.height} silent claims)"):
            queue = pl.concat([queue, *(r.select(queue.columns) for r in (silent_rows, rejected))])
        with steps.step("follow_ups"):
            queue = follow_ups(queue, ask)
        with steps.step("in_queue_order"):
            queue = Q.in_queue_order(queue)
        with steps.step(f"write work_queue ({queue.height} rows)"):
            out.write_derived("work_queue", queue)
        with steps.step("request_decisions (packets' choice)"):
            request_decisions(queue, stages.REQUEST_PACKETS_PER_RUN, stages.longest_windows(settings), day)
        with steps.step("the asset's views (analyst_today ...) and chart"):
            from pipelines.defs.routing import assets
            from claimback.charts import work_queue_by_route_and_deadline
            from claimback.publish import SQL_DIR, query_views
            tables = {"work_queue": queue, "request_packets": lake.read("request_packets"),
                      "trend_packets": lake.read("trend_packets"), "trend_clusters": lake.read("trend_clusters"),
                      "lonely_payments": lake.read("lonely_payments", ("claim_key", "paid_amount"))}
            query_views(tables, SQL_DIR, assets.TODAY_VIEWS, "SELECT * FROM analyst_today",
                        "SELECT * FROM analyst_today_counts", "SELECT * FROM analyst_work_queue_by_route",
                        "SELECT * FROM analyst_today_branches")
            work_queue_by_route_and_deadline(queue, day)
    steps.report()
    print(f"peak RSS {__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
