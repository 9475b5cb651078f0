"""The job's executor: Dagster's default one (in process or multiprocess) or its Celery executor,
run while holding the warehouse lock.

A run the UI, the inbox sensor or the nightly schedule launches has one process that drives
all its steps from start to end (the run worker): that process is where the executor runs, so
holding the lock around the executor covers every step of the run, whichever processes the
steps run in. `claimback run` executes the job in process, where Dagster uses its in-process
executor instead; the command takes the same lock itself (pipelines/cli.py). Under Celery the
run worker hands the steps to the Celery workers and waits for them, so the lock it holds still
covers every step; it is a local lock, on the run worker's warehouse folder (docs/deployment.md).
"""
from __future__ import annotations

import dagster as dg
from dagster._core.executor.base import Executor

from pipelines.defs.resources import from_environment
from claimback.warehouse import one_writer

_DEFAULT = dg.multi_or_in_process_executor


def _celery_executor():
    """dagster_celery.celery_executor where claimback[cluster] is installed, else None."""
    try:
        from dagster_celery import celery_executor
    except ImportError:
        return None
    return celery_executor


_CELERY = _celery_executor()
# Dagster's executor config (in_process or multiprocess, chosen per run; `celery`, with the broker's
# URL, where dagster-celery is installed), but in process unless the run asks: a UI or sensor run of
# a normal night then costs what `claimback run` costs, instead of a process and a fresh import of
# the code location for each of its ~15 steps (bench/README.md, "UI, sensor and CLI"). The sensor
# asks for multiprocess when a large drop is worth parsing in parallel.
_MODES = dict(_DEFAULT.config_schema.as_field().config_type.fields)
if _CELERY is not None:
    _MODES["celery"] = _CELERY.config_schema.as_field()
_CONFIG = dg.Field(dg.Selector(_MODES), default_value={"in_process": {}})


class _OneWriter(Executor):
    def __init__(self, inner: Executor):
        self._inner = inner

    def execute(self, plan_context, execution_plan):
        with one_writer(_warehouse_of(plan_context.run_config), f"Dagster run {plan_context.run_id}"):
            yield from self._inner.execute(plan_context, execution_plan)

    def __getattr__(self, name):  # what an executor's own loop asks of it (Celery's: app_args())
        return getattr(self._inner, name)

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config


def _warehouse_of(run_config) -> str:
    """The warehouse this run writes: its run config's, else the code location's default."""
    config = (run_config.get("resources") or {}).get("claimback", {}).get("config") or {}
    return config.get("warehouse") or from_environment().warehouse


def celery_available() -> bool:
    return _CELERY is not None


def _requirements(config):
    return _CELERY.get_requirements(config["celery"]) if "celery" in config else _DEFAULT.get_requirements(config)


@dg.executor(name="claimback_one_writer", config_schema=_CONFIG, requirements=_requirements)
def one_writer_executor(init_context: dg.InitExecutorContext) -> Executor:
    """Dagster's in-process (default), multiprocess or Celery executor, configured the same way,
    holding the warehouse lock for the whole run."""
    if "celery" in init_context.executor_config:
        inner = init_context._replace(executor_config=init_context.executor_config["celery"])
        return _OneWriter(_CELERY.executor_creation_fn(inner))
    return _OneWriter(_DEFAULT.executor_creation_fn(init_context))
