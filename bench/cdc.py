"""Change-capture benchmark: lag while a write workload runs during and after a full load.

Run by ``bench/cdc.sh``. Against the local source and target it: fills the demo database,
starts K row changes per second for S seconds (parallel connections), runs the full load
(snapshot) while they write, starts change capture from the snapshot, and samples the lag
every 100 ms with a heartbeat row (written on the source each 100 ms, read on the target: the
end-to-end delay a reader of the target sees, not the replica's rounded Seconds_Behind_Master).
Prints lag p50/p99/max while the stream runs under the workload, and the seconds from the end
of the load until the target had applied everything the source had logged by then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time
from pathlib import Path

from migration_assets.lib.cdc import config, controller
from migration_assets.lib.connection import connect, source_settings_from_env, target_settings_from_env
from migration_assets.lib.copy.runner import FullLoad
from migration_assets.lib.demo import generator
from migration_assets.lib.flyway.engine import FlywayEngine
from migration_assets.lib.introspect import read_catalog
from migration_assets.lib.workload import Workload, run_parallel

HEARTBEAT = "bench_heartbeat"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    source, target = source_settings_from_env(), target_settings_from_env()
    cfg = config.from_env(source)
    stream = config.replication_stream(cfg, source, target)
    stream.reset()
    generator.prepare_database(source, replace=True)
    generator.create_schema_from_migrations(source, Path("db/migrations"))
    generator.generate(source, scale=args.scale)
    with connect(target, use_database=False) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{target.database}`")
    FlywayEngine(target, Path("db/migrations")).migrate()
    for settings in (source, target):  # a table of the migration like the others: in the catalog
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {HEARTBEAT} (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)")
    with connect(source) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {HEARTBEAT} VALUES (1, UTC_TIMESTAMP(6))")
    catalog = read_catalog(source, batches=16)

    stop = threading.Event()

    def beat() -> None:
        with connect(source) as conn, conn.cursor() as cur:
            while not stop.is_set():
                cur.execute(f"UPDATE {HEARTBEAT} SET ts = UTC_TIMESTAMP(6) WHERE id = 1")
                time.sleep(0.1)

    result: dict = {}
    workloads = [Workload(source, catalog, rate=args.rate / args.threads, seconds=args.seconds, seed=i)
                 for i in range(args.threads)]
    writer = threading.Thread(target=lambda: result.update(stats=run_parallel(workloads)))
    beater = threading.Thread(target=beat)
    beater.start()
    writer.start()
    time.sleep(1)
    t0 = time.monotonic()
    list(FullLoad(catalog, source, target, workers=4).run(list(catalog.tables), catalog.partition_keys))
    load_s = time.monotonic() - t0
    load_end = time.monotonic()
    controller.start(stream, source=source, target=target, catalog=catalog, replication_user=source)
    caught = controller.wait_caught_up(stream, source, timeout_s=600)
    catch_up_s = time.monotonic() - load_end
    lags: list[float] = []
    with connect(target) as conn, conn.cursor() as cur:
        while writer.is_alive():
            cur.execute(f"SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) FROM {HEARTBEAT}")
            conn.commit()
            lags.append(cur.fetchone()[0] / 1e6)
            time.sleep(0.1)
    writer.join()
    stop.set()
    beater.join()
    stats = result["stats"]
    lags.sort()
    pct = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan")  # noqa: E731
    print(f"workload: {stats.changes:,} row changes in {stats.seconds:.1f} s "
          f"({stats.changes / stats.seconds:,.0f}/s achieved, {args.rate:,.0f}/s asked)")
    print(f"full load under writes: {load_s:.1f} s; caught up {catch_up_s:.1f} s after the load ended "
          f"(applied {caught.applied})")
    print(f"lag while streaming under the workload ({len(lags)} samples over "
          f"{len(lags) / 10:.0f} s): p50 {pct(0.5):.3f} s, p99 {pct(0.99):.3f} s, "
          f"max {max(lags or [0]):.3f} s"
          + (f", mean {statistics.mean(lags):.3f} s" if lags else ""))
    controller.wait_caught_up(stream, source, timeout_s=120)
    stream.reset()
    print(f"finished {dt.datetime.now(dt.UTC):%H:%M:%S}")


if __name__ == "__main__":
    main()
