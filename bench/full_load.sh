#!/usr/bin/env bash
# Full-load benchmark: the project's full migration against mydumper/myloader and
# mysqldump | mysql, measured in the same run on the same data, each into an empty database.
#
#   bash bench/full_load.sh [SCALE ...]        # default: 1 4
#
# For each scale: fresh demo data on a local source (dbmigrate dev servers), then
#   dbmigrate  : schema migrate + `dagster job execute -j full_migration` (load, checks, report),
#                then `dbmigrate schema migrate && dbmigrate load` (the same without Dagster)
#   mydumper   : mydumper -t 2 -r 100000 --less-locking + myloader -t 2 -e (schema and data)
#   mysqldump  : mysqldump --single-transaction | mysql (schema and data)
# Every result is verified intact (`dbmigrate verify`: row counts and checksums per batch)
# outside the timing; each tool starts on a settled target. Prints seconds, ratios (project /
# tool; <= 1.0 means the project is faster), the project's peak memory (RSS of the Dagster
# process), which of issue 11's goals this run met, and then bench/row_diff.sh (ROW_DIFF=0
# skips it).
set -euo pipefail
cd "$(dirname "$0")/.."

SCALES=("$@")
[ ${#SCALES[@]} -gt 0 ] || SCALES=(1 4)
BIN=.venv/bin
WORK=.dbmigrate/bench
STATE=$WORK/servers

need=()
command -v mydumper >/dev/null || need+=(mydumper)
command -v mysqldump >/dev/null || need+=(mariadb-client)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x $BIN/dbmigrate ] || make install >/dev/null

mkdir -p "$WORK"
$BIN/dbmigrate dev up --state-dir "$STATE" > "$WORK/env" 2>/dev/null
trap '$BIN/dbmigrate dev down --state-dir "$STATE" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$WORK/env"
export DAGSTER_HOME=$PWD/$WORK/dagster_home DBMIGRATE_CATALOG=$PWD/$WORK/catalog.json
mkdir -p "$DAGSTER_HOME"
cp dagster.local.yaml "$DAGSTER_HOME/dagster.yaml"  # the instance `make install` gives a user
SRC=(-h "$ON_PREM_DB_HOST" -P "$ON_PREM_DB_PORT" -u "$ON_PREM_DB_USER" -p "$ON_PREM_DB_PASSWORD")
DST=(-h "$AURORA_DB_HOST" -P "$AURORA_DB_PORT" -u "$AURORA_DB_USER" -p "$AURORA_DB_PASSWORD")
MYSQL_DST=(-h "$AURORA_DB_HOST" -P "$AURORA_DB_PORT" -u "$AURORA_DB_USER" "-p$AURORA_DB_PASSWORD")
if [ -n "${AURORA_DB_SSL_CA:-}" ]; then  # the local target accepts only TLS, as Aurora does
  DST+=(--ssl --ca "$AURORA_DB_SSL_CA")
  MYSQL_DST+=(--ssl-ca="$AURORA_DB_SSL_CA")
fi
MYSQL_SRC=(-h "$ON_PREM_DB_HOST" -P "$ON_PREM_DB_PORT" -u "$ON_PREM_DB_USER" "-p$ON_PREM_DB_PASSWORD")

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.1f}')"; }
verify() {  # database on the target -> "intact" or the failure
  if AURORA_DB_NAME=$1 $BIN/dbmigrate verify > "$WORK/verify_$1.txt" 2>&1; then echo intact
  else echo "NOT INTACT (see $WORK/verify_$1.txt)"; fi
}
fresh() { mysql "${MYSQL_DST[@]}" -e "DROP DATABASE IF EXISTS \`$1\`; CREATE DATABASE \`$1\` CHARACTER SET utf8mb4"; }

# Each tool starts from the same servers: the previous result's database dropped and both
# servers' dirty pages written out (a load, or the demo data just generated, leaves hundreds of
# MB for InnoDB to flush, which would otherwise bill the next tool).
dirty() { mysql "$@" -N -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{print $2}'; }
settle() {  # [database to drop]; both servers (the source has just been filled, too)
  [ -z "${1:-}" ] || mysql "${MYSQL_DST[@]}" -e "DROP DATABASE IF EXISTS \`$1\`"
  for _ in $(seq 20); do  # InnoDB writes idle dirty pages slowly: at most 20 s, then go
    [ "$(dirty "${MYSQL_DST[@]}")" -lt 500 ] && [ "$(dirty "${MYSQL_SRC[@]}")" -lt 500 ] && return 0
    sleep 1
  done
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

declare -A PEAK JOB MYD
printf '\n%-6s %-22s %9s %9s  %s\n' scale tool rows seconds result
for SCALE in "${SCALES[@]}"; do
  $BIN/dbmigrate demo-data --scale "$SCALE" --replace > "$WORK/demo.txt" 2>&1
  ROWS=$(awk '/ total /{gsub(",","",$4); print $4}' "$WORK/demo.txt")
  $BIN/dbmigrate catalog refresh > /dev/null

  # 1. this project: schema + full load + checks + report, one Dagster run
  settle bench_dbmigrate
  t0=$(now)
  AURORA_DB_NAME=bench_dbmigrate /usr/bin/time -f '%M' -o "$WORK/rss.txt" \
    $BIN/dagster job execute -m migration_assets -j full_migration > "$WORK/job_$SCALE.log" 2>&1
  t1=$(now); OURS=$(elapsed "$t0" "$t1"); PEAK[$SCALE]=$(tail -1 "$WORK/rss.txt"); JOB[$SCALE]=$OURS
  printf '%-6s %-22s %9s %9s  %s\n' "$SCALE" "dagster job execute" "$ROWS" "$OURS" "$(verify bench_dbmigrate)"

  # 1b. the same schema and load without Dagster (what Dagster's run costs on top)
  settle bench_dbmigrate
  t0=$(now)
  AURORA_DB_NAME=bench_dbmigrate $BIN/dbmigrate schema migrate > "$WORK/load_$SCALE.log" 2>&1
  AURORA_DB_NAME=bench_dbmigrate $BIN/dbmigrate load >> "$WORK/load_$SCALE.log" 2>&1
  t1=$(now); LOAD=$(elapsed "$t0" "$t1")
  printf '%-6s %-22s %9s %9s  %s\n' "$SCALE" "dbmigrate load" "$ROWS" "$LOAD" "$(verify bench_dbmigrate)"
  settle bench_dbmigrate

  # 2. mydumper + myloader, 2 threads each
  rm -rf "$WORK/dump"; fresh bench_mydumper; settle
  t0=$(now)
  # As a DBA runs them: chunks of 100,000 rows (-r), and -e (keep binary logging: the target's
  # user has no SUPER, as on Aurora, so myloader's default SET sql_log_bin = 0 is refused).
  mydumper "${SRC[@]}" -B shop -t 2 -r 100000 --less-locking --triggers --routines \
    -o "$WORK/dump" > "$WORK/mydumper.log" 2>&1
  myloader "${DST[@]}" -d "$WORK/dump" -s shop -B bench_mydumper -t 2 -o -e > "$WORK/myloader.log" 2>&1
  t1=$(now); MYD[$SCALE]=$(elapsed "$t0" "$t1")
  printf '%-6s %-22s %9s %9s  %s\n' "$SCALE" "mydumper + myloader" "$ROWS" "${MYD[$SCALE]}" "$(verify bench_mydumper)"
  settle bench_mydumper

  # 3. mysqldump | mysql
  fresh bench_mysqldump; settle
  t0=$(now)
  mysqldump "${MYSQL_SRC[@]}" --single-transaction --triggers --routines --hex-blob shop \
    | mysql "${MYSQL_DST[@]}" bench_mysqldump
  t1=$(now); DUMP=$(elapsed "$t0" "$t1")
  printf '%-6s %-22s %9s %9s  %s\n' "$SCALE" "mysqldump | mysql" "$ROWS" "$DUMP" "$(verify bench_mysqldump)"
  settle bench_mysqldump

  printf '%-6s ratio to mydumper+myloader: job %s, load %s; job/mysqldump %s; peak RSS %s MB\n' \
    "$SCALE" "$(ratio "$OURS" "${MYD[$SCALE]}")" "$(ratio "$LOAD" "${MYD[$SCALE]}")" \
    "$(ratio "$OURS" "$DUMP")" "$(( ${PEAK[$SCALE]} / 1024 ))"
done

# Issue 11's goals, met or not, from this run's figures.
goal() {  # name, value, limit
  if python3 -c "import sys; sys.exit(0 if $2 <= $3 else 1)"; then echo "goal met:     $1 = $2 (<= $3)"
  else echo "goal NOT met: $1 = $2 (<= $3 asked)"; fi
}
echo
for SCALE in "${SCALES[@]}"; do
  case $SCALE in
    1) goal "job/mydumper at scale 1" "$(ratio "${JOB[1]}" "${MYD[1]}")" 1.5 ;;
    4) goal "job/mydumper at scale 4" "$(ratio "${JOB[4]}" "${MYD[4]}")" 1.0 ;;
  esac
done
if [ ${#SCALES[@]} -ge 2 ]; then
  first=${SCALES[0]}; last=${SCALES[-1]}
  goal "peak memory scale $last / scale $first" "$(ratio "${PEAK[$last]}" "${PEAK[$first]}")" 1.2
fi

# The row-level diff against pt-table-sync and reladiff (its own servers, scale 1).
if [ "${ROW_DIFF:-1}" = 1 ]; then
  trap - EXIT; $BIN/dbmigrate dev down --state-dir "$STATE" >/dev/null 2>&1 || true
  echo; RUNS=${ROW_DIFF_RUNS:-1} bash bench/row_diff.sh
fi
