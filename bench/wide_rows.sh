#!/usr/bin/env bash
# Wide-row memory benchmark: peak RSS of `dbmigrate load` for tables of very wide rows, against
# mydumper + myloader on the same data in the same run.
#
#   bash bench/wide_rows.sh [ROWS] [MB_PER_ROW] [BIG_ROWS] [MB_PER_BIG_ROW]   # default: 40 5 4 24
#
# Two tables on a local source (dbmigrate dev servers, max_allowed_packet 256M): `wide`, ROWS
# rows of MB_PER_ROW MB of LONGBLOB (the shape that once took 908 MB of RSS), and `huge`,
# BIG_ROWS rows of MB_PER_BIG_ROW MB, each over the copier's chunk cap, so it is streamed in
# pieces. Both copies are verified intact (`dbmigrate verify`) outside the timing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-40}; MB=${2:-5}; BIG=${3:-4}; BIGMB=${4:-24}
BIN=.venv/bin
WORK=.dbmigrate/bench-wide
need=()
command -v mydumper >/dev/null || need+=(mydumper)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x $BIN/dbmigrate ] || make install >/dev/null
mkdir -p "$WORK"
$BIN/dbmigrate dev up --state-dir "$WORK/servers" > "$WORK/env" 2>/dev/null
trap '$BIN/dbmigrate dev down --state-dir "$WORK/servers" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$WORK/env"
export DBMIGRATE_CATALOG=$PWD/$WORK/catalog.json DBMIGRATE_CDC_ENGINE=none
SQL_SRC=(-h "$ON_PREM_DB_HOST" -P "$ON_PREM_DB_PORT" -u "$ON_PREM_DB_USER" "-p$ON_PREM_DB_PASSWORD")
SQL_DST=(-h "$AURORA_DB_HOST" -P "$AURORA_DB_PORT" -u "$AURORA_DB_USER" "-p$AURORA_DB_PASSWORD"
         ${AURORA_DB_SSL_CA:+--ssl-ca="$AURORA_DB_SSL_CA"})  # the local target accepts only TLS
LOADER_TLS=(${AURORA_DB_SSL_CA:+--ssl --ca "$AURORA_DB_SSL_CA"})
DDL="CREATE TABLE wide (id INT PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB;
     CREATE TABLE huge (id INT PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB;"
mysql "${SQL_SRC[@]}" -e "DROP DATABASE IF EXISTS wide; CREATE DATABASE wide; USE wide; $DDL"
# Random bytes (incompressible), repeated 1 KiB blocks with a per-row prefix.
mysql "${SQL_SRC[@]}" wide -e "
  INSERT INTO wide SELECT seq, CONCAT(UNHEX(MD5(seq)), REPEAT(RANDOM_BYTES(1024), $MB * 1024)) FROM seq_1_to_$ROWS;
  INSERT INTO huge SELECT seq, CONCAT(UNHEX(MD5(seq)), REPEAT(RANDOM_BYTES(1024), $BIGMB * 1024)) FROM seq_1_to_$BIG;"
ON_PREM_DB_NAME=wide $BIN/dbmigrate catalog refresh > /dev/null

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.1f}')"; }
verify() { if ON_PREM_DB_NAME=wide AURORA_DB_NAME=$1 $BIN/dbmigrate verify > "$WORK/verify_$1.txt" 2>&1
           then echo intact; else echo "NOT INTACT (see $WORK/verify_$1.txt)"; fi; }

mysql "${SQL_DST[@]}" -e "DROP DATABASE IF EXISTS wide_dbmigrate; CREATE DATABASE wide_dbmigrate; USE wide_dbmigrate; $DDL"
t0=$(now)
ON_PREM_DB_NAME=wide AURORA_DB_NAME=wide_dbmigrate /usr/bin/time -f '%M' -o "$WORK/rss_ours.txt" \
  $BIN/dbmigrate load --workers 2 > "$WORK/load.log" 2>&1
t1=$(now); OURS=$(elapsed "$t0" "$t1"); OURS_RSS=$(( $(tail -1 "$WORK/rss_ours.txt") / 1024 ))
OURS_OK=$(verify wide_dbmigrate)

mysql "${SQL_DST[@]}" -e "DROP DATABASE IF EXISTS wide_mydumper; CREATE DATABASE wide_mydumper"
rm -rf "$WORK/dump"
t0=$(now)
/usr/bin/time -f '%M' -o "$WORK/rss_dump.txt" mydumper -h "$ON_PREM_DB_HOST" -P "$ON_PREM_DB_PORT" \
  -u "$ON_PREM_DB_USER" -p "$ON_PREM_DB_PASSWORD" -B wide -t 2 -r 2 -o "$WORK/dump" >/dev/null 2>&1
/usr/bin/time -f '%M' -o "$WORK/rss_load.txt" myloader -h "$AURORA_DB_HOST" -P "$AURORA_DB_PORT" \
  -u "$AURORA_DB_USER" -p "$AURORA_DB_PASSWORD" "${LOADER_TLS[@]}" -d "$WORK/dump" -s wide \
  -B wide_mydumper -t 2 -o -e > "$WORK/myloader.log" 2>&1  # -e: no SUPER for sql_log_bin, as on Aurora
t1=$(now); MYD=$(elapsed "$t0" "$t1")
MYD_RSS=$(( $(tail -1 "$WORK/rss_dump.txt") / 1024 )); MYL_RSS=$(( $(tail -1 "$WORK/rss_load.txt") / 1024 ))
MYD_OK=$(verify wide_mydumper)

TOTAL_MB=$(( ROWS * MB + BIG * BIGMB ))
printf '\n%s MB in %s rows of %s MB and %s rows of %s MB (LONGBLOB)\n' "$TOTAL_MB" "$ROWS" "$MB" "$BIG" "$BIGMB"
printf '%-22s %8s %14s  %s\n' tool seconds "peak RSS (MB)" result
printf '%-22s %8s %14s  %s\n' "dbmigrate load" "$OURS" "$OURS_RSS" "$OURS_OK"
printf '%-22s %8s %14s  %s\n' "mydumper + myloader" "$MYD" "$MYD_RSS + $MYL_RSS" "$MYD_OK"
