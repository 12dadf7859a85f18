#!/usr/bin/env bash
# The full load's two ways of writing rows, on the same table and the same servers:
# LOAD DATA LOCAL INFILE (the target has local_infile=1) against the multi-row INSERT fallback
# (local_infile=0, as MySQL 8's default or an Aurora parameter group without it).
#
#   bash bench/insert_fallback.sh [ROWS] [WORKERS]        # default: 1000000 2
#
# Local servers (dbmigrate dev servers) are started here and removed on exit. The source gets
# an `orders` table of ROWS rows shaped like the demo's (BIGINT key, INT, short VARCHAR,
# DECIMAL, DATETIME(6), a nullable VARCHAR with 4-byte characters); `dbmigrate load` copies it
# into an empty database once with local_infile on and once with it off. Each copy is verified
# (`dbmigrate verify`) outside the timing. Prints rows/s of each (the table's copy time as the
# load reports it: read, write, per-batch checksums) and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}; WORKERS=${2:-2}
BIN=.venv/bin
WORK=.dbmigrate/bench-insert
[ -x $BIN/dbmigrate ] || make install >/dev/null
command -v mysql >/dev/null || {
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mariadb-client >/dev/null
}
mkdir -p "$WORK"
$BIN/dbmigrate dev up --state-dir "$WORK/servers" > "$WORK/env" 2>/dev/null
trap '$BIN/dbmigrate dev down --state-dir "$WORK/servers" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$WORK/env"
export DBMIGRATE_CATALOG=$PWD/$WORK/catalog.json DBMIGRATE_CDC_ENGINE=none ON_PREM_DB_NAME=bench
SQL_SRC=(--default-character-set=utf8mb4 -h "$ON_PREM_DB_HOST" -P "$ON_PREM_DB_PORT" -u "$ON_PREM_DB_USER" "-p$ON_PREM_DB_PASSWORD"
         ${ON_PREM_DB_SSL_CA:+--ssl-ca="$ON_PREM_DB_SSL_CA"})
SQL_DST=(--default-character-set=utf8mb4 -h "$AURORA_DB_HOST" -P "$AURORA_DB_PORT" -u "$AURORA_DB_USER" "-p$AURORA_DB_PASSWORD"
         ${AURORA_DB_SSL_CA:+--ssl-ca="$AURORA_DB_SSL_CA"})
# SET GLOBAL needs the target's socket-only administrative account (the TCP user has no SUPER).
ADMIN_DST=(-S "$PWD/$WORK/servers/target/mysqld.sock" -u "$(id -un)")
DDL="CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
       status VARCHAR(16) NOT NULL, amount DECIMAL(12,2) NOT NULL,
       created_at DATETIME(6) NOT NULL, note VARCHAR(200) NULL) ENGINE=InnoDB;"
mysql "${SQL_SRC[@]}" -e "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench; USE bench; $DDL
  INSERT INTO orders SELECT seq, seq % 9973, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
    (seq * 37 % 100000) / 100, TIMESTAMPADD(MICROSECOND, seq * 997, '2020-01-01'),
    IF(seq % 5 = 0, NULL, CONCAT('note ', seq, ' é😀')) FROM seq_1_to_$ROWS;"
$BIN/dbmigrate catalog refresh > /dev/null

declare -A RATE
run() {  # name local_infile
  local db=bench_$1
  mysql "${ADMIN_DST[@]}" -e "SET GLOBAL local_infile = $2"
  mysql "${SQL_DST[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db; $DDL"
  AURORA_DB_NAME=$db $BIN/dbmigrate load --workers "$WORKERS" > "$WORK/load_$1.log" 2>&1
  # "orders: 1,000,000 rows copied in 12.3s (whole table); ..."
  local seconds
  seconds=$(sed -n 's/^.*orders: [0-9,]* rows copied in \([0-9.]*\)s.*$/\1/p' "$WORK/load_$1.log" | tail -1)
  RATE[$1]=$(python3 -c "print(round($ROWS / $seconds))")
  local ok="NOT INTACT (see $WORK/verify_$1.txt)"
  AURORA_DB_NAME=$db $BIN/dbmigrate verify > "$WORK/verify_$1.txt" 2>&1 && ok=intact
  grep -q "local_infile is OFF" "$WORK/load_$1.log" && ok="$ok, warned: local_infile is OFF"
  printf '%-10s %9s rows %8ss %10s rows/s  %s\n' "$1" "$ROWS" "$seconds" "${RATE[$1]}" "$ok"
}
echo
run load_data 1
run insert 0
mysql "${ADMIN_DST[@]}" -e "SET GLOBAL local_infile = 1"
python3 -c "print(f'INSERT fallback: {${RATE[load_data]} / ${RATE[insert]}:.1f}x the time of LOAD DATA ({$WORKERS} workers)')"
