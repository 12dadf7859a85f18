#!/usr/bin/env bash
# Change-capture benchmark: K row changes/s for S seconds during and after a full load.
#
#   bash bench/cdc.sh [RATE] [SECONDS] [SCALE] [THREADS]   # default: 2000 60 1 6
#
# Starts its own local source and target (dbmigrate dev servers), removes them at the end,
# and prints lag p50/p99 (heartbeat row, 100 ms samples) and the seconds from the end of the
# load until the target had caught up. See bench/cdc.py.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-2000}; SECONDS_=${2:-60}; SCALE=${3:-1}; THREADS=${4:-6}
BIN=.venv/bin
WORK=.dbmigrate/bench-cdc
[ -x $BIN/dbmigrate ] || make install >/dev/null
mkdir -p "$WORK"
$BIN/dbmigrate dev up --state-dir "$WORK/servers" > "$WORK/env" 2>/dev/null
trap '$BIN/dbmigrate dev down --state-dir "$WORK/servers" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$WORK/env"
$BIN/python bench/cdc.py --rate "$RATE" --seconds "$SECONDS_" --scale "$SCALE" --threads "$THREADS"
