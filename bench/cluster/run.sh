#!/usr/bin/env bash
# The claimback job on a cluster, on one machine: Redis (the Celery broker), a local S3 endpoint
# (moto in server mode), WORKERS Celery workers, the inbox and the lake on s3://. Then the same
# inbox through a local `claimback run`, and the two published files compared row for row.
#
#   bench/cluster/run.sh WORKERS INBOX
#
# Exits 0 only when the published tables and views equal the local run's (bench/compare_published.py);
# 1 when they differ or a run failed; 77 when redis-server or the cluster packages are missing.
# Everything it starts (Redis, moto, the workers) is stopped on exit, however it exits.
#
# Environment: PYTHON (default .venv/bin/python), AS_OF (default 2026-11-01), BATCH_FILES (new
# files per parse step, default 250), CLAIMBACK_COMPARE_WITH (a warehouse that already published
# this inbox with this AS_OF: compared with instead of running the local run again), COMPARE=no (time
# the cluster run only, without the local run and the comparison: for measuring; says so and exits 0
# on a successful run), KEEP (a folder to keep the warehouses and logs in, instead of a temporary one
# that is removed).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORKERS="${1:?usage: bench/cluster/run.sh WORKERS INBOX}"
INBOX="$(cd "${2:?usage: bench/cluster/run.sh WORKERS INBOX}" && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
AS_OF="${AS_OF:-2026-11-01}"
BATCH_FILES="${BATCH_FILES:-250}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

if ! command -v redis-server >/dev/null 2>&1; then
    echo "run.sh: redis-server not found (Debian: apt-get install -y redis-server)" >&2
    exit 77
fi
if ! "$PYTHON" -c "import dagster_celery, s3fs, moto.server" 2>/dev/null; then
    echo "run.sh: the cluster packages are missing: pip install -e '.[test,cluster]'" >&2
    exit 77
fi

if [[ -n "${KEEP:-}" ]]; then WORK="$KEEP"; mkdir -p "$WORK"; else WORK="$(mktemp -d)"; fi
STARTED=()  # process ids of what this script started, stopped in reverse order on exit
stop_all() {
    local status=$?
    for (( i=${#STARTED[@]}-1; i>=0; i-- )); do
        kill -TERM "${STARTED[i]}" 2>/dev/null || true
    done
    for pid in "${STARTED[@]}"; do  # a worker finishes its task first; then it is killed
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [[ -n "${KEEP:-}" ]] || rm -rf "$WORK"
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

free_port() { "$PYTHON" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
wait_for_port() {  # port, what, pid
    for _ in $(seq 300); do
        if "$PYTHON" -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$1" 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { echo "run.sh: $2 exited at start (log in $WORK)" >&2; return 1; }
        sleep 0.1
    done
    echo "run.sh: $2 did not start listening on port $1" >&2
    return 1
}
seconds() { date +%s.%N; }

# --- services: the broker and the object store --------------------------------------------------
REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
    >"$WORK/redis.log" 2>&1 &
STARTED+=($!)
SERVICE_PIDS=($!)
wait_for_port "$REDIS_PORT" redis-server "$!"
BROKER="redis://127.0.0.1:$REDIS_PORT/0"

S3_PORT="$(free_port)"
"$PYTHON" -m moto.server -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
STARTED+=($!)
SERVICE_PIDS+=($!)
wait_for_port "$S3_PORT" "moto server" "$!"
# The standard AWS variables: the workers, Polars, s3fs and boto3 all read them. Any key works on moto.
export AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=claimback AWS_SECRET_ACCESS_KEY=claimback \
       AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
start="$(seconds)"
"$PYTHON" "$ROOT/bench/cluster/objects.py" upload "$INBOX" s3://claimback/inbox
echo "upload: $("$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(seconds)") s"

# --- the workers -----------------------------------------------------------------------------------
# One Celery worker process per WORKERS, each running one step at a time (--concurrency 1), taking
# a new task only when it is free (--prefetch-multiplier 1). Owner-only files (umask 077): the
# packets a worker draws hold PHI.
export CELERY_BROKER_URL="$BROKER" CELERY_RESULT_BACKEND="$BROKER"
WORKER_PIDS=()
for n in $(seq "$WORKERS"); do
    ( umask 077; exec "$PYTHON" -m celery -A dagster_celery.app worker -Q dagster --concurrency 1 \
        --prefetch-multiplier 1 --without-gossip --without-mingle -n "claimback-$n@%h" --loglevel INFO \
        >"$WORK/worker-$n.log" 2>&1 ) &
    STARTED+=($!)
    WORKER_PIDS+=($!)
done
for _ in $(seq 120); do  # every worker answers a ping before the run starts
    online="$("$PYTHON" -m celery -A dagster_celery.app inspect ping --timeout 1 2>/dev/null | grep -c 'pong' || true)"
    [[ "$online" -ge "$WORKERS" ]] && break
    for pid in "${WORKER_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo "run.sh: a Celery worker exited at start:" >&2; tail -n 20 "$WORK"/worker-*.log >&2; exit 1; }
    done
    sleep 0.5
done
[[ "${online:-0}" -ge "$WORKERS" ]] || { echo "run.sh: only ${online:-0} of $WORKERS workers answered" >&2; exit 1; }
echo "run.sh: Redis on $REDIS_PORT, S3 (moto) on $S3_PORT, $WORKERS Celery workers online; started processes ${STARTED[*]}"

# --- the cluster run: lake and inbox on s3://, steps on the workers --------------------------------
start="$(seconds)"
status=0
/usr/bin/time -f "%e %U %S %M" -o "$WORK/coordinator.time" \
    "$PYTHON" -m pipelines.cli run -q --inbox s3://claimback/inbox --lake s3://claimback/lake \
    --warehouse "$WORK/cluster" --as-of "$AS_OF" --batch-files "$BATCH_FILES" --celery "$BROKER" \
    >"$WORK/cluster-run.out" 2>"$WORK/cluster-run.err" || status=$?
wall="$("$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(seconds)")"
if [[ "$status" -ne 0 ]]; then
    echo "run.sh: the cluster run failed (exit $status):" >&2
    tail -n 20 "$WORK/cluster-run.err" >&2
    tail -n 30 "$WORK"/worker-*.log >&2
    exit 1
fi
read -r _ c_user c_sys c_rss <"$WORK/coordinator.time"
echo "cluster run ($WORKERS workers): wall $wall s; coordinator $(awk "BEGIN {print $c_user + $c_sys}") CPU s, peak RSS $(awk "BEGIN {printf \"%.2f\", $c_rss / 1e6}") GB"
echo "workers:"
"$PYTHON" "$ROOT/bench/cluster/objects.py" usage "${WORKER_PIDS[@]}"
echo "steps run per worker: $(for n in $(seq "$WORKERS"); do grep -c ' succeeded in ' "$WORK/worker-$n.log" || true; done | xargs)"
echo "Redis and the S3 endpoint (moto; in a real cluster the object store's own):"
"$PYTHON" "$ROOT/bench/cluster/objects.py" usage "${SERVICE_PIDS[@]}"
echo "where the time went:"
"$PYTHON" "$ROOT/bench/cluster/objects.py" steps "$WORK/cluster"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the same inbox in process, on local folders, and the comparison -------------------------------
if [[ "${COMPARE:-yes}" == "no" ]]; then
    echo "run.sh: NOT compared with a local run (COMPARE=no)"
    exit 0
fi
if [[ -n "${CLAIMBACK_COMPARE_WITH:-}" ]]; then
    LOCAL="$CLAIMBACK_COMPARE_WITH"
else
    LOCAL="$WORK/local"
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/local.time" \
        "$PYTHON" -m pipelines.cli run -q --inbox "$INBOX" --warehouse "$LOCAL" --as-of "$AS_OF" \
        --batch-files "$BATCH_FILES" >"$WORK/local-run.out" 2>"$WORK/local-run.err" \
        || { echo "run.sh: the local run failed:" >&2; tail -n 20 "$WORK/local-run.err" >&2; exit 1; }
    read -r l_wall l_user l_sys l_rss <"$WORK/local.time"
    echo "local run (in process, local folders): wall $l_wall s, $(awk "BEGIN {print $l_user + $l_sys}") CPU s, peak RSS $(awk "BEGIN {printf \"%.2f\", $l_rss / 1e6}") GB"
fi
"$PYTHON" "$ROOT/bench/compare_published.py" "$WORK/cluster" "$LOCAL"
