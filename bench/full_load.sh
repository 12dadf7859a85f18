#!/usr/bin/env bash
# Full-load benchmark: the project's full migration against mydumper/myloader and
# mysqldump | mysql, measured in the same run on the same data, each into an empty database.
#
#   bash bench/full_load.sh [SCALE ...]        # default: 1 4
#
# For each scale: fresh demo data on a local source (dbmigrate dev servers), then
#   dbmigrate  : schema migrate + `dagster job execute -j full_migration` (load, checks, report)
#   mydumper   : mydumper -t 2 -r 100000 --less-locking + myloader -t 2 -e (schema and data)
#   mysqldump  : mysqldump --single-transaction | mysql (schema and data)
# Every result is verified intact (`dbmigrate verify`: row counts and checksums per batch)
# outside the timing. Prints seconds, ratios (project / tool; <= 1.0 means the project is
# faster) and the project's peak memory (RSS of the Dagster process).
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

declare -A PEAK
printf '\n%-6s %-10s %9s %9s  %s\n' scale tool rows seconds result
for SCALE in "${SCALES[@]}"; do
  $BIN/dbmigrate demo-data --scale "$SCALE" --replace > "$WORK/demo.txt" 2>&1
  ROWS=$(awk '/ total /{gsub(",","",$4); print $4}' "$WORK/demo.txt")
  $BIN/dbmigrate catalog refresh > /dev/null

  # 1. this project: schema + full load + checks + report, one Dagster run
  mysql "${MYSQL_DST[@]}" -e "DROP DATABASE IF EXISTS bench_dbmigrate"
  t0=$(now)
  AURORA_DB_NAME=bench_dbmigrate /usr/bin/time -f '%M' -o "$WORK/rss.txt" \
    $BIN/dagster job execute -m migration_assets -j full_migration > "$WORK/job_$SCALE.log" 2>&1
  t1=$(now); OURS=$(elapsed "$t0" "$t1"); PEAK[$SCALE]=$(tail -1 "$WORK/rss.txt")
  printf '%-6s %-10s %9s %9s  %s\n' "$SCALE" dbmigrate "$ROWS" "$OURS" "$(verify bench_dbmigrate)"

  # 2. mydumper + myloader, 2 threads each
  rm -rf "$WORK/dump"; fresh bench_mydumper
  t0=$(now)
  # As a DBA runs them: chunks of 100,000 rows (-r), and -e (keep binary logging: the target's
  # user has no SUPER, as on Aurora, so myloader's default SET sql_log_bin = 0 is refused).
  mydumper "${SRC[@]}" -B shop -t 2 -r 100000 --less-locking --triggers --routines \
    -o "$WORK/dump" > "$WORK/mydumper.log" 2>&1
  myloader "${DST[@]}" -d "$WORK/dump" -s shop -B bench_mydumper -t 2 -o -e > "$WORK/myloader.log" 2>&1
  t1=$(now); MYD=$(elapsed "$t0" "$t1")
  printf '%-6s %-10s %9s %9s  %s\n' "$SCALE" mydumper "$ROWS" "$MYD" "$(verify bench_mydumper)"

  # 3. mysqldump | mysql
  fresh bench_mysqldump
  t0=$(now)
  mysqldump "${MYSQL_SRC[@]}" --single-transaction --triggers --routines --hex-blob shop \
    | mysql "${MYSQL_DST[@]}" bench_mysqldump
  t1=$(now); DUMP=$(elapsed "$t0" "$t1")
  printf '%-6s %-10s %9s %9s  %s\n' "$SCALE" mysqldump "$ROWS" "$DUMP" "$(verify bench_mysqldump)"

  printf '%-6s ratio dbmigrate/mydumper+myloader = %s, dbmigrate/mysqldump = %s, peak RSS %s MB\n' \
    "$SCALE" "$(python3 -c "print(f'{$OURS/$MYD:.2f}')")" "$(python3 -c "print(f'{$OURS/$DUMP:.2f}')")" \
    "$(( ${PEAK[$SCALE]} / 1024 ))"
done
if [ ${#SCALES[@]} -ge 2 ]; then
  first=${SCALES[0]}; last=${SCALES[-1]}
  printf 'peak memory at scale %s / scale %s = %s\n' "$last" "$first" \
    "$(python3 -c "print(f'{${PEAK[$last]}/${PEAK[$first]}:.2f}')")"
fi
