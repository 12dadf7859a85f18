#!/usr/bin/env bash
# Row-level diff benchmark (issue 11): name 10 rows changed on the target, against
# pt-table-sync --print and reladiff -j 2, measured in the same run on the same data.
#
#   bash bench/row_diff.sh            # RUNS=3 by default: each tool runs 3 times, the median counts
#
# Fresh local servers (dbmigrate dev up, TLS-only target as Aurora), the demo data at scale 1
# copied to the target (dbmigrate load), then 10 rows changed on the target: 7 updates (one in a
# JSON column, one under a composite key), 2 deletes and 1 insert, across 9 tables. Then:
#   dbmigrate      : dbmigrate verify --rows (batch checksums, then the rows named)
#   pt-table-sync  : pt-table-sync --print --no-check-triggers --databases shop SRC DST
#                    (--no-check-triggers: orders has triggers; --print changes nothing)
#   reladiff -j 2  : reladiff SRC T DST T -k KEY -c % -j 2, for each table of the catalog
# Each tool's output must name all 10 changed keys ("found 10/10", else the keys it missed).
# Prints seconds and ratios (tool / dbmigrate; the goal is >= 3 against both).
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=1  # the changed keys below exist at scale 1
RUNS=${RUNS:-3}
BIN=.venv/bin
WORK=.dbmigrate/bench/row_diff
STATE=$WORK/servers
RELADIFF_VENV=.dbmigrate/bench/reladiff-venv

# The rows changed on the target, as "table key=value[,key=value]", and the SQL that changes them.
EXPECTED="customers id=1234
addresses id=70001
products id=15000
inventory product_id=10000,warehouse_id=2
orders id=80000
order_items id=123456
audit_log id=150000
payments id=99999
order_items id=299999
reviews id=40001"
CHANGES="
UPDATE customers SET full_name = CONCAT(full_name, ' Jr.') WHERE id = 1234;
UPDATE addresses SET city = 'Springfield' WHERE id = 70001;
UPDATE products SET price = price + 1 WHERE id = 15000;
UPDATE inventory SET quantity = quantity + 1 WHERE product_id = 10000 AND warehouse_id = 2;
UPDATE orders SET total_amount = total_amount + 0.01 WHERE id = 80000;
UPDATE order_items SET quantity = quantity + 1 WHERE id = 123456;
UPDATE audit_log SET details = JSON_SET(details, '\$.total', 0) WHERE id = 150000;
DELETE FROM payments WHERE id = 99999;
DELETE FROM order_items WHERE id = 299999;
INSERT INTO reviews (id, product_id, customer_id, rating, title, body, created_at)
VALUES (40001, 1, 1, 5, 'Only on the target', 'inserted by bench/row_diff.sh', '2024-01-01 00:00:00');"

need=()
command -v pt-table-sync >/dev/null || need+=(percona-toolkit)
command -v mysql >/dev/null || need+=(mariadb-client)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x $RELADIFF_VENV/bin/reladiff ]; then
  python3 -m venv $RELADIFF_VENV
  $RELADIFF_VENV/bin/pip install -q "reladiff[mysql]" >/dev/null
fi
[ -x $BIN/dbmigrate ] || make install >/dev/null

mkdir -p "$WORK"
$BIN/dbmigrate dev up --state-dir "$STATE" > "$WORK/env" 2>/dev/null
trap '$BIN/dbmigrate dev down --state-dir "$STATE" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$WORK/env"
export DBMIGRATE_CATALOG=$PWD/$WORK/catalog.json
MYSQL_DST=(-h "$AURORA_DB_HOST" -P "$AURORA_DB_PORT" -u "$AURORA_DB_USER" "-p$AURORA_DB_PASSWORD")
PT_SRC="h=$ON_PREM_DB_HOST,P=$ON_PREM_DB_PORT,u=$ON_PREM_DB_USER,p=$ON_PREM_DB_PASSWORD"
PT_DST="h=$AURORA_DB_HOST,P=$AURORA_DB_PORT,u=$AURORA_DB_USER,p=$AURORA_DB_PASSWORD"
url() {  # user password host port database query -> a mysql:// URL, credentials encoded
  python3 -c "import sys, urllib.parse as u; a = sys.argv; q = lambda s: u.quote(s, safe='')
print('mysql://' + q(a[1]) + ':' + q(a[2]) + '@' + a[3] + ':' + a[4] + '/' + a[5] + a[6])" "$@"
}
RD_SRC=$(url "$ON_PREM_DB_USER" "$ON_PREM_DB_PASSWORD" "$ON_PREM_DB_HOST" "$ON_PREM_DB_PORT" shop "")
RD_DST_QUERY=""
if [ -n "${AURORA_DB_SSL_CA:-}" ]; then  # the local target accepts only TLS, as Aurora does
  MYSQL_DST+=(--ssl-ca="$AURORA_DB_SSL_CA")
  # pt-table-sync 3.2's DSN has no TLS key: its driver reads ssl-ca from a defaults file (F=).
  printf '[client]\nssl-ca=%s\n' "$AURORA_DB_SSL_CA" > "$WORK/target-tls.cnf"
  PT_DST+=",F=$PWD/$WORK/target-tls.cnf"
  RD_DST_QUERY="?ssl_ca=$AURORA_DB_SSL_CA"  # passed through to mysql-connector
fi
RD_DST=$(url "$AURORA_DB_USER" "$AURORA_DB_PASSWORD" "$AURORA_DB_HOST" "$AURORA_DB_PORT" shop "$RD_DST_QUERY")

echo "preparing: demo data at scale $SCALE, copied to the target, 10 rows changed there ..."
$BIN/dbmigrate demo-data --scale "$SCALE" --replace > "$WORK/demo.txt" 2>&1
ROWS=$(awk '/ total /{gsub(",","",$4); print $4}' "$WORK/demo.txt")
$BIN/dbmigrate catalog refresh > "$WORK/catalog.txt" 2>&1
$BIN/dbmigrate schema migrate > "$WORK/migrate.txt" 2>&1
$BIN/dbmigrate load > "$WORK/load.txt" 2>&1
mysql "${MYSQL_DST[@]}" shop -e "$CHANGES"
TABLES=$(python3 -c 'import json, sys; print(" ".join(t["name"] + ":" + ",".join(t["key"])
         for t in json.load(open(sys.argv[1]))["tables"]))' "$DBMIGRATE_CATALOG")

now() { date +%s.%N; }
run_ours() {
  local rc=0
  $BIN/dbmigrate verify --rows > "$WORK/ours.txt" 2> "$WORK/ours.err" || rc=$?
  [ "$rc" -eq 1 ] || { echo "dbmigrate verify --rows exited $rc (expected 1)"; cat "$WORK/ours.err"; exit 1; }
}
run_pt() {  # exit status 2: tables differ
  local rc=0
  pt-table-sync --print --no-check-triggers --databases shop "$PT_SRC" "$PT_DST" \
    > "$WORK/pt.txt" 2> "$WORK/pt.err" || rc=$?
  [ "$rc" -eq 2 ] || { echo "pt-table-sync exited $rc (expected 2)"; cat "$WORK/pt.err"; exit 1; }
}
run_reladiff() {
  : > "$WORK/reladiff.txt"; : > "$WORK/reladiff.err"
  local spec table keys args
  for spec in $TABLES; do
    table=${spec%%:*}; keys=${spec#*:}; args=()
    for k in ${keys//,/ }; do args+=(-k "$k"); done
    echo "== $table" >> "$WORK/reladiff.txt"
    $RELADIFF_VENV/bin/reladiff "$RD_SRC" "$table" "$RD_DST" "$table" "${args[@]}" -c '%' -j 2 \
      >> "$WORK/reladiff.txt" 2>> "$WORK/reladiff.err"
  done
}

# Which expected keys a tool's output names: "found 10/10", or what it missed.
found() {
  python3 - "$1" "$2" "$EXPECTED" <<'EOF'
import re, sys
tool, path, expected = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path, encoding="utf-8", errors="replace").read()
sections = dict(re.findall(r"^== (\S+)\n(.*?)(?=^== |\Z)", text, re.S | re.M))
missing = []
for line in expected.splitlines():
    table, spec = line.split()
    pairs = [p.split("=") for p in spec.split(",")]
    if tool == "dbmigrate":  # "customers: id=1234: differs (full_name)"
        hit = re.search(rf"^{table}: {re.escape(', '.join(f'{k}={v}' for k, v in pairs))}:", text, re.M)
    elif tool == "pt-table-sync":  # WHERE `id`='1234' / VALUES ('1234', ... in a statement on the table
        where = " AND ".join(f"`{k}`='{v}'" for k, v in pairs)
        values = "VALUES \\(" + ", ".join(f"'{v}'" for _, v in pairs)
        hit = re.search(rf"^\S+ (INTO |FROM )?`shop`\.`{table}`.*({re.escape(where)}|{values}[,)])", text, re.M)
    else:  # reladiff: "- 1234, ..." or "+ 1234, ..." under "== table"
        keys = ", ".join(v for _, v in pairs)
        hit = re.search(rf"^[-+] {re.escape(keys)}(,|$)", sections.get(table, ""), re.M)
    if not hit:
        missing.append(f"{table} {spec}")
total = len(expected.splitlines())
print(f"found {total - len(missing)}/{total}" + (f", missing: {'; '.join(missing)}" if missing else ""))
EOF
}

median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' "$@"; }
declare -A SECONDS_OF
TOOLS=(dbmigrate pt-table-sync reladiff)
for tool in "${TOOLS[@]}"; do SECONDS_OF[$tool]=""; done
for run in $(seq "$RUNS"); do
  for tool in "${TOOLS[@]}"; do
    t0=$(now)
    case $tool in dbmigrate) run_ours ;; pt-table-sync) run_pt ;; reladiff) run_reladiff ;; esac
    t1=$(now)
    SECONDS_OF[$tool]+=" $(python3 -c "print($t1 - $t0)")"
  done
done

printf '\n%s rows at scale %s, 10 rows changed on the target; median of %s run(s)\n' "$ROWS" "$SCALE" "$RUNS"
printf '%-16s %8s  %-14s  %s\n' tool seconds "tool / ours" result
OURS=$(median ${SECONDS_OF[dbmigrate]})
met=yes
for tool in "${TOOLS[@]}"; do
  s=$(median ${SECONDS_OF[$tool]})
  ratio=$(python3 -c "print(f'{$s / $OURS:.2f}')")
  case $tool in dbmigrate) out=ours.txt; name="dbmigrate" ;; pt-table-sync) out=pt.txt; name="pt-table-sync" ;;
                reladiff) out=reladiff.txt; name="reladiff -j 2" ;; esac
  result=$(found "$tool" "$WORK/$out")
  [[ $result == "found 10/10" ]] || met=no
  if [ "$tool" != dbmigrate ] && python3 -c "import sys; sys.exit(0 if $ratio >= 3 else 1)"; then :
  elif [ "$tool" != dbmigrate ]; then met=no; fi
  printf '%-16s %8s  %-14s  %s\n' "$name" "$s" "$ratio" "$result"
done
echo "runs (s): $(for t in "${TOOLS[@]}"; do printf '%s:%s ' "$t" "${SECONDS_OF[$t]}"; done)"
if [ $met = yes ]; then echo "goal met: dbmigrate verify --rows is >= 3x faster than both, every key found"
else echo "goal NOT met (>= 3x faster than pt-table-sync --print and reladiff -j 2, all 10 keys found by each)"; fi
echo "outputs: $WORK/{ours,pt,reladiff}.txt"
