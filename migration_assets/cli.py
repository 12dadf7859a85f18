"""``dbmigrate``: a thin command-line front over ``lib/``.

Every user-fixable problem ends as one line ``FAILED: <sentence>`` and exit status 1; the
traceback is shown only with ``--debug``. Progress goes to stderr, results to stdout, so
``eval "$(dbmigrate dev up)"`` works.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from migration_assets.lib.connection import (
    DbSettings,
    source_settings_from_env,
    target_settings_from_env,
)
from migration_assets.lib.errors import MigrationError
from migration_assets.lib.flyway.files import resolve_location
from migration_assets.lib.flyway.state import InfoRow, current_version


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([line, fmt(headers), line, *(fmt(r) for r in cells), line])


def format_info(rows: list[InfoRow], settings: DbSettings) -> str:
    body = _table(
        ["Category", "Version", "Description", "Type", "Installed On", "State"],
        [[r.category, r.version, r.description, r.type,
          r.installed_on.strftime("%Y-%m-%d %H:%M:%S") if r.installed_on else "", r.state.value]
         for r in rows],
    )
    return (f"Schema version: {current_version(rows) or '<< Empty Schema >>'} "
            f"({settings.describe()})\n{body}")


# -- dev ---------------------------------------------------------------------------------------
def cmd_dev_up(args: argparse.Namespace) -> int:
    from migration_assets.lib.localdev import environment

    state = Path(args.state_dir)
    _log(f"starting local source and target MariaDB servers in {state} ...")
    instances = environment.up(state, source_port=args.source_port,
                               target_port=args.target_port, database=args.database)
    for role, inst in instances.items():
        _log(f"  {role}: 127.0.0.1:{inst.port} (pid {inst.pid})")
    _log("servers are up; load these settings with: eval \"$(dbmigrate dev env)\"")
    print("\n".join(environment.export_lines(instances, args.database)))
    return 0


def cmd_dev_env(args: argparse.Namespace) -> int:
    from migration_assets.lib.localdev import environment

    state = Path(args.state_dir)
    instances = environment.running(state)
    if set(instances) != set(environment.ROLES):
        raise MigrationError(f"no local servers recorded in {state}: run `dbmigrate dev up` first")
    print("\n".join(environment.export_lines(instances, environment.database_name(state))))
    return 0


def cmd_dev_down(args: argparse.Namespace) -> int:
    from migration_assets.lib.localdev import environment

    stopped = environment.down(Path(args.state_dir))
    _log("stopped " + ", ".join(stopped) if stopped else f"no local servers in {args.state_dir}")
    return 0


def cmd_dev_wait_run(args: argparse.Namespace) -> int:
    """Wait for a run a sensor launches in the local Dagster instance (``make demo``)."""
    import dagster as dg

    since = time.time() - args.since_s
    deadline = time.monotonic() + args.timeout
    with dg.DagsterInstance.get() as instance:
        while True:
            runs = [r for r in instance.get_run_records(
                filters=dg.RunsFilter(job_name=args.job, tags={"dagster/sensor_name": args.sensor}),
                limit=5) if r.create_timestamp.timestamp() >= since]
            run = runs[0].dagster_run if runs else None
            if run is not None and run.is_finished:
                _log(f"{args.job} run {run.run_id[:8]} launched by {args.sensor}: {run.status.value}")
                if run.status is not dg.DagsterRunStatus.SUCCESS:
                    raise MigrationError(f"the {args.job} run {run.run_id} {run.status.value}: see it in "
                                         "the UI (dagster dev) or `dagster run list`")
                return 0
            if time.monotonic() > deadline:
                state = f"run {run.run_id[:8]} is {run.status.value}" if run else "no run launched yet"
                raise MigrationError(f"{args.sensor} did not complete a {args.job} run within "
                                     f"{args.timeout:.0f} s ({state}); is the daemon running?")
            time.sleep(1)


def cmd_dev_fail_stale_runs(args: argparse.Namespace) -> int:
    """Mark runs of the local instance left STARTED by a killed process as FAILURE."""
    import dagster as dg

    from migration_assets.lib.localdev import stale_runs

    with dg.DagsterInstance.get() as instance:
        marked = stale_runs.fail_stale_runs(instance, log=_log)
    if not marked:
        _log("no STARTED run of the local instance has lost its process")
    return 0


# -- demo data ---------------------------------------------------------------------------------
def cmd_demo_data(args: argparse.Namespace) -> int:
    from migration_assets.lib.demo import generator

    settings = source_settings_from_env()
    location = resolve_location(args.locations)
    generator.prepare_database(settings, replace=args.replace)
    scripts = generator.create_schema_from_migrations(settings, location)
    _log(f"created the demo schema on {settings.describe()} from {', '.join(scripts)}")
    counts = generator.generate(settings, scale=args.scale, seed=args.seed, log=_log)
    print(_table(["table", "rows"], [[t, f"{n:,}"] for t, n in counts.items()]
                 + [["total", f"{sum(counts.values()):,}"]]))
    return 0


# -- schema ------------------------------------------------------------------------------------
def _settings(args: argparse.Namespace) -> DbSettings:
    """The server named by ``--db``."""
    return source_settings_from_env() if args.db == "source" else target_settings_from_env()


def _engine(args: argparse.Namespace):  # noqa: ANN202 - FlywayEngine, imported lazily
    from migration_assets.lib.flyway.engine import FlywayEngine

    return FlywayEngine(settings=_settings(args), location=resolve_location(args.locations),
                        table=args.table, log=_log)


def cmd_schema_info(args: argparse.Namespace) -> int:
    engine = _engine(args)
    print(format_info(engine.info(), engine.settings))
    return 0


def cmd_schema_validate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    rows = engine.validate()
    print(f"Successfully validated {sum(1 for r in rows if r.applied)} migrations on "
          f"{engine.settings.describe()} (schema version {current_version(rows)})")
    return 0


def cmd_schema_migrate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    result = engine.migrate(target=args.target)
    for run in result.applied:
        _log(f"  applied {run.script} in {run.execution_time_ms} ms")
    print(f"Successfully applied {len(result.applied)} migrations to {engine.settings.describe()}, "
          f"now at version {result.schema_version}")
    return 0


def cmd_schema_undo(args: argparse.Namespace) -> int:
    engine = _engine(args)
    result = engine.undo(target=args.target)
    for run in result.undone:
        _log(f"  undid {run.version} with {run.script} in {run.execution_time_ms} ms")
    print(f"Successfully undid {len(result.undone)} migrations on {engine.settings.describe()}, "
          f"now at version {result.schema_version or '<< Empty Schema >>'}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.cdc import config
    from migration_assets.lib.flyway.engine import FlywayEngine
    from migration_assets.lib.rollback import before_cutover as rb

    if args.after_cutover:
        return _rollback_after_cutover(args)
    destination = rb.Destination.parse(to_version=args.to_version, empty=args.empty)
    catalog = cat.load(cat.resolve_path(args.catalog))
    source, target = source_settings_from_env(), target_settings_from_env()
    cfg = config.from_env(source)
    stream = _change_stream(cfg, source, target, catalog) if cfg.enabled else None
    engine = FlywayEngine(settings=target, location=resolve_location(args.locations), log=_log)
    plan = rb.plan(target, destination, source=source, engine=engine)
    outcome = rb.execute(plan, stream=stream, target=target, catalog=catalog, engine=engine, log=_log)
    print(outcome.sentence(target))
    return 0


def _rollback_after_cutover(args: argparse.Namespace) -> int:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.rollback import after_cutover as rb

    if args.to_version or args.empty:
        raise MigrationError("--to-version and --empty belong to the rollback before cutover; after "
                             "cutover the source gets the target's writes back: `dbmigrate rollback "
                             "--after-cutover [--timeout S]`")
    catalog = cat.load(cat.resolve_path(args.catalog))
    source, target = source_settings_from_env(), target_settings_from_env()
    result = rb.prepare(source=source, target=target, catalog=catalog, timeout_s=args.timeout,
                        log=_log).run()
    if result.already_done:
        print("the rollback is already done (recorded on the target); nothing to do")
    if result.report:
        from migration_assets.lib import report

        print(report.as_text(result.report))
    print("\n".join(rb.summary(result)))
    print(rb.next_step(source.address))
    return 0


def cmd_schema_baseline(args: argparse.Namespace) -> int:
    engine = _engine(args)
    engine.baseline(args.baseline_version, args.baseline_description)
    print(f"Successfully baselined {engine.settings.describe()} with version "
          f"{args.baseline_version}")
    return 0


def cmd_schema_repair(args: argparse.Namespace) -> int:
    engine = _engine(args)
    actions = engine.repair()
    print(f"Successfully repaired {engine.settings.describe()}: "
          + ("; ".join(actions) if actions else "nothing to repair"))
    return 0


def cmd_schema_capture(args: argparse.Namespace) -> int:
    from migration_assets.lib.capture.schema_capture import capture, render
    from migration_assets.lib.flyway.files import discover, parse_name

    settings = _settings(args)
    out_dir = Path(args.output_dir) if args.output_dir else resolve_location(args.locations)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = [m for m in discover(out_dir) if m.version is not None]
    version = args.version or (str(max(m.version for m in existing).parts[0] + 1)
                               if existing else "1")
    name = f"V{version}__{args.description}.sql"
    if parse_name(name) is None:
        raise MigrationError(f"'{name}' is not a valid Flyway file name: check --version and "
                             "--description (letters, digits and underscores)")
    clash = [m.script for m in existing if m.version_text == version.replace("_", ".")]
    if clash:
        raise MigrationError(f"version {version} already exists in {out_dir} ({clash[0]}): "
                             "pick another with --version")
    schema = capture(settings)
    path = out_dir / name
    path.write_text(render(schema, source=f"{settings.role} {settings.address}"), encoding="utf-8")
    kinds = {o.kind for o in schema.objects}
    summary = ", ".join(f"{len(schema.of_kind(k))} {k}s" for k in sorted(kinds))
    print(f"wrote {path} ({summary or 'empty database'})")
    for warning in schema.warnings:
        _log(f"warning: {warning}")
    _log(f"to adopt a target that already has this schema: dbmigrate schema baseline "
         f"--baseline-version {version}")
    return 0


# -- catalog, load, verify ---------------------------------------------------------------------
def cmd_catalog_refresh(args: argparse.Namespace) -> int:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.introspect import read_catalog

    settings = source_settings_from_env()
    path = cat.resolve_path(args.catalog)
    result = read_catalog(settings, batches=args.batches, only=args.tables or None,
                          store_key_values=args.store_key_values)
    cat.save(result, path)
    print(_table(["table", "key", "rows", "batches", "boundaries in the file"],
                 [[t.name, ",".join(t.key) or "(none)", f"{t.rows_estimate:,}", t.batch_count,
                   "offsets + sha256" if t.recompute else
                   "key values" if t.boundaries else "-"]
                  for t in result.tables]))
    print(f"wrote {path}: {len(result.tables)} tables of {settings.describe()}, "
          f"{result.batches} partitions")
    return 0


def _selected_tables(catalog, names: list[str] | None):  # noqa: ANN001, ANN202
    return [catalog.table(n) for n in names] if names else list(catalog.tables)


def cmd_load(args: argparse.Namespace) -> int:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib import report
    from migration_assets.lib.cdc import config
    from migration_assets.lib.cdc.snapshot import parse_strategy
    from migration_assets.lib.copy.runner import FullLoad

    catalog = cat.load(cat.resolve_path(args.catalog))
    source, target = source_settings_from_env(), target_settings_from_env()
    cfg = config.from_env(source)
    loader = FullLoad(catalog, source, target,
                      workers=args.workers, validate=not args.no_validate, log=_log,
                      strategy=parse_strategy(args.strategy) if args.strategy else cfg.strategy,
                      change_capture=cfg.enabled,
                      replication_user=config.replication_login(cfg, source) if cfg.enabled else None,
                      stream=_change_stream(cfg, source, target, catalog) if cfg.enabled else None)
    results = list(loader.run(_selected_tables(catalog, args.tables), catalog.partition_keys))
    print(report.as_text([r.report_row() for r in results], report.LOAD_SECONDS))
    if loader.snapshot is not None:
        print(f"snapshot {loader.snapshot.snapshot_id}: source binlog position {loader.snapshot.position}"
              + (f", GTID {loader.snapshot.position.gtid_set}" if loader.snapshot.position.gtid_set else ""))
    failed = [r for r in results if not r.ok]
    if failed:
        raise MigrationError(f"{len(failed)} table(s) did not copy cleanly: "
                             + "; ".join(r.error or f"{r.table}: checksum mismatch" for r in failed))
    return 0


def _parquet_directory(args: argparse.Namespace) -> Path | None:
    """``--parquet DIR`` made and proven writable before any row is compared (it implies
    ``--rows``: the file holds the rows named)."""
    if not args.parquet:
        return None
    from migration_assets.lib.verify.row_frames import writable_directory

    args.rows = True
    return writable_directory(Path(args.parquet))


def _remove_stale_files(directory: Path | None, tables: list) -> None:  # Table
    """An earlier run's files of the tables verified now removed before any is compared, so
    the directory holds this run's findings for them (a table that matches now has none);
    other files stay."""
    if directory is None:
        return
    from migration_assets.lib.verify.row_frames import remove_files

    for path in remove_files(directory, [t.name for t in tables]):
        print(f"removed {path} (an earlier run's)")


def _write_differing_rows(directory: Path | None, found: list) -> list[str]:  # (Table, differences)
    """Each table's differing rows to ``<directory>/<table>.parquet``, and where they went; a
    file that cannot be written is reported and the others still are. Its sentences."""
    if directory is None:
        return []
    from migration_assets.lib.verify.row_diff import is_truncated
    from migration_assets.lib.verify.row_frames import errors_of, how_many, write_each

    written = write_each(found, directory)
    for w in written:
        if w.path is None:
            print(f"{w.table.name}: differing rows not written: {w.error}")
            continue
        only = (f" (only the {len(w.differences)} named: --limit N names more)"
                if is_truncated(w.differences) else "")
        print(f"{w.table.name}: {how_many(w.table, w.differences)} written to {w.path}{only}")
    return errors_of(written)


def _more_differ(name: str, differences: tuple) -> None:
    """A line saying the rows listed are not all (``--limit`` stopped the naming)."""
    from migration_assets.lib.verify.row_diff import is_truncated

    if is_truncated(differences):
        print(f"{name}: more rows differ than the {len(differences)} named (--limit N names more)")


def cmd_verify(args: argparse.Namespace) -> int:
    parquet = _parquet_directory(args)
    if args.live:
        return cmd_verify_live(args, parquet)
    from migration_assets.lib import catalog as cat
    from migration_assets.lib import report
    from migration_assets.lib.copy.boundaries import resolve
    from migration_assets.lib.copy.ranges import batches_for
    from migration_assets.lib.verify.checksums import verify_table
    from migration_assets.lib.verify.row_diff import verify_rows
    from migration_assets.lib.verify.schema_diff import compare_objects, find_drift, summarize

    catalog = cat.load(cat.resolve_path(args.catalog))
    source, target = source_settings_from_env(), target_settings_from_env()
    tables = _selected_tables(catalog, args.tables)
    _remove_stale_files(parquet, tables)
    # Schema first: row checksums see only the catalog's columns, so they agree on a column
    # that was never copied, and they never look at triggers, views, routines or events.
    drift = find_drift(source, target, catalog, tables)
    schema = [*drift, *compare_objects(source, target)]
    for sentence in schema:
        print(f"schema: {sentence}")
    if drift:
        raise MigrationError("the catalog no longer describes the databases (no rows compared): "
                             + summarize(schema))
    catalog = resolve(catalog, source, target, log=_log)
    rows, named, differing = [], {}, []
    for table in map(catalog.table, (t.name for t in tables)):
        batches = batches_for(table, catalog.batches)
        if not args.rows:
            v = verify_table(source, target, table, batches)
            rows.append(report.table_row(table.name, v, v.seconds))
            continue
        found = verify_rows(source, target, table, batches, limit=args.limit)
        if not found.ok:
            named[table.name] = found.findings(args.limit)
            differing.append((table, found.differences))
        rows.append(report.table_row(table.name, found.verification, found.seconds,
                                     detail="; ".join(named.get(table.name, [])[:3])))
    print(report.as_text(rows, report.VERIFY_SECONDS))
    for table, differences in differing:
        print("\n".join(f"{table.name}: {line}" for line in named[table.name]))
        _more_differ(table.name, differences)
    unwritten = _write_differing_rows(parquet, differing)
    bad = [f"{r.table}: {', '.join(named[r.table])}" if r.table in named else r.table
           for r in rows if not r.ok]
    sep = "; " if named else ", "
    problems = [f"source and target differ in {len(bad)} table(s): {sep.join(bad)}"] if bad else []
    if schema:
        problems.append("the schemas differ: " + summarize(schema))
    problems += unwritten
    if problems:
        raise MigrationError("; ".join(problems))
    return 0


def cmd_verify_live(args: argparse.Namespace, parquet: Path | None = None) -> int:
    from migration_assets.lib import report
    from migration_assets.lib.verify.live import verify_live
    from migration_assets.lib.verify.schema_diff import summarize

    catalog, source, target, _cfg, stream = _cdc_context(args)
    selected = _selected_tables(catalog, args.tables)
    _remove_stale_files(parquet, selected)
    results = verify_live(source, target, catalog, selected, stream, log=_log)
    schema = [s for r in results for s in r.schema]
    for sentence in schema:
        print(f"schema: {sentence}")
    tables = [r for r in results if not r.schema]
    if tables:
        print(report.as_text([report.live_row(r) for r in tables], report.VERIFY_SECONDS))
    bad = [r for r in tables if not r.ok]
    for r in bad:
        _more_differ(r.table, r.differences)
    unwritten = _write_differing_rows(parquet, [(catalog.table(r.table), r.differences) for r in bad])
    problems = ([f"source and target differ in {len(bad)} table(s) at the same source position: "
                 + "; ".join(f"{r.table}: " + ", ".join(r.findings(5)) for r in bad)] if bad else [])
    if schema:
        problems.append("the schemas differ: " + summarize(schema))
    problems += unwritten
    if problems:
        raise MigrationError("; ".join(problems))
    return 0


# -- change capture ----------------------------------------------------------------------------
def _cdc_context(args: argparse.Namespace):  # noqa: ANN202 - (catalog, source, target, cfg, stream)
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.cdc import config

    catalog = cat.load(cat.resolve_path(args.catalog))
    source, target = source_settings_from_env(), target_settings_from_env()
    cfg = config.from_env(source)
    return catalog, source, target, cfg, _change_stream(cfg, source, target, catalog)


def _change_stream(cfg, source: DbSettings, target: DbSettings, catalog):  # noqa: ANN001, ANN202
    from migration_assets.lib.cdc import config
    from migration_assets.lib.cdc.dms_env import dms_stream_from_env

    return config.make_stream(cfg, source, target, catalog, dms_stream_from_env)


def _print_status(status) -> None:  # noqa: ANN001
    print(f"engine:     {status.engine}\nstate:      {status.state.value}")
    print(f"applied:    {status.applied or '-'}\nlag:        "
          + ("-" if status.lag_seconds is None else f"{status.lag_seconds:g} s"))
    for key, value in status.details.items():
        print(f"{key + ':':<12}{value}")
    if status.error:
        print(f"error:      {status.error}")
    if status.next_step:
        print(f"next:       {status.next_step}")


def cmd_cdc_preflight(args: argparse.Namespace) -> int:
    from migration_assets.lib.cdc import config, preflight, state
    from migration_assets.lib.connection import connect

    catalog, source, target, cfg, _stream = _cdc_context(args)
    with connect(target) as conn:
        rate = state.measured_rate(conn)
    facts = preflight.check(source, replication=config.replication_login(cfg, source),
                            tables=[t.name for t in catalog.tables], measured_bytes_per_s=rate)
    print(f"the source can feed change capture: binlog ROW/FULL, server_id {facts.server_id}, "
          f"{facts.gtid_mode}, binary logs kept: {facts.retention_setting}")
    return 0


def cmd_cdc_start(args: argparse.Namespace) -> int:
    from migration_assets.lib.cdc import config, controller

    catalog, source, target, cfg, stream = _cdc_context(args)
    status = controller.start(stream, source=source, target=target, catalog=catalog,
                              replication_user=config.replication_login(cfg, source))
    _print_status(status)
    if status.state.value == "failed":
        raise MigrationError(f"change capture failed: {status.error}. Next: {status.next_step}")
    return 0


def cmd_cdc_status(args: argparse.Namespace) -> int:
    _catalog, _source, _target, _cfg, stream = _cdc_context(args)
    status = stream.status()
    _print_status(status)
    return 1 if status.state.value == "failed" else 0


def cmd_cdc_stop(args: argparse.Namespace) -> int:
    _catalog, _source, _target, _cfg, stream = _cdc_context(args)
    _print_status(stream.stop())
    return 0


def cmd_cdc_reset(args: argparse.Namespace) -> int:
    from migration_assets.lib.cdc import controller

    catalog, _source, target, _cfg, stream = _cdc_context(args)
    controller.reset(stream, target=target, catalog=catalog)
    print("change capture stopped and forgotten; the next full load takes a new snapshot")
    return 0


def cmd_cdc_wait(args: argparse.Namespace) -> int:
    from migration_assets.lib.cdc import controller

    _catalog, source, _target, cfg, stream = _cdc_context(args)
    started = time.monotonic()
    status = controller.wait_caught_up(stream, source, timeout_s=args.timeout, max_lag_s=cfg.max_lag_s,
                                       log=_log)
    where = status.applied or f"(lag {status.lag_seconds} s)"
    print(f"caught up: the target applied the source up to {where} "
          f"after {time.monotonic() - started:.1f} s")
    return 0


# -- cutover -----------------------------------------------------------------------------------
def cmd_cutover(args: argparse.Namespace) -> int:
    from migration_assets.lib import report
    from migration_assets.lib.cutover import plan
    from migration_assets.lib.cutover.run import prepare

    catalog, source, target, cfg, stream = _cdc_context(args)
    cutover = prepare(source=source, target=target, catalog=catalog, stream=stream,
                      max_lag_s=cfg.max_lag_s, reverse=False if args.no_reverse else None,
                      timeout_s=args.timeout, migrations=resolve_location(args.locations), log=_log)
    if args.abort:
        print(cutover.abort())
        return 0
    result = cutover.run()
    if result.already_done:
        print("the cutover is already done (recorded on the target); nothing to do")
    if result.report:
        print(report.as_text(result.report))
    print("\n".join(plan.summary(result)))
    print(plan.next_step(result, target.address))
    return 0


def cmd_workload(args: argparse.Namespace) -> int:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.workload import Workload, run_parallel

    if args.threads < 1:
        raise MigrationError(f"--threads must be at least 1, got {args.threads}")
    catalog = cat.load(cat.resolve_path(args.catalog))
    follow = target_settings_from_env() if args.follow_cutover else None
    stats = run_parallel([Workload(source_settings_from_env(), catalog, rate=args.rate / args.threads,
                                   seconds=args.seconds, seed=args.seed + i, follow=follow)
                          for i in range(args.threads)])
    print(f"workload: {stats.changes:,} row changes in {stats.seconds:.1f} s "
          f"({stats.changes / max(stats.seconds, 1e-9):,.0f}/s): {stats.inserts:,} inserts, "
          f"{stats.updates:,} updates, {stats.deletes:,} deletes, {stats.failed:,} refused by constraints, "
          f"{stats.rolled_back:,} rolled back by the server (deadlock)")
    if follow is not None:
        where = "moved to the target after the cutover" if stats.moved else "stayed on the source"
        print(f"workload: {where}; changes were refused (read-only) for {stats.refused_s:.2f} s at "
              f"most ({stats.refused:,} refused tries, each retried until it was made)")
    return 0


DEFAULT_MAPPINGS = "terraform/environments/dev/dms/table-mappings.json"


def cmd_dms_mappings(args: argparse.Namespace) -> int:
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.dms import table_mappings_json

    catalog = cat.load(cat.resolve_path(args.catalog))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table_mappings_json(catalog), encoding="utf-8")
    print(f"wrote {out}: {len(catalog.tables)} tables of {catalog.database}")
    return 0


def cmd_aws_env(args: argparse.Namespace) -> int:
    from migration_assets.lib.terraform_outputs import export_lines

    text = sys.stdin.read() if args.outputs == "-" else Path(args.outputs).read_text()
    print("\n".join(export_lines(text)))
    return 0


def cmd_aws_pitr(args: argparse.Namespace) -> int:
    from migration_assets.lib.aws import pitr

    to = None if args.latest else pitr.parse_time(args.to)
    rds = pitr.rds_client(args.region)
    plan = pitr.plan_restore(rds, source=args.cluster, new_cluster=args.new_cluster, to=to,
                             instance_class=args.instance_class, clone=args.clone)
    result = pitr.execute(rds, plan, timeout_s=args.timeout, poll_s=args.poll,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    print("\n".join(pitr.next_steps(result)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbmigrate",
        description="Migrate an on-premises MySQL database to Aurora MySQL.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    sub = parser.add_subparsers(dest="command", required=True)

    from migration_assets.lib.localdev.environment import DEFAULT_DATABASE, DEFAULT_STATE_DIR

    dev = sub.add_parser("dev", help="throwaway local source and target servers")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    for name, func, text in (("up", cmd_dev_up, "start both servers and print export lines"),
                             ("env", cmd_dev_env, "print export lines for running servers"),
                             ("down", cmd_dev_down, "stop both servers and delete their data")):
        p = dev_sub.add_parser(name, help=text)
        p.add_argument("--state-dir", default=DEFAULT_STATE_DIR,
                       help=f"folder for datadirs and pid files (default {DEFAULT_STATE_DIR})")
        p.set_defaults(func=func)
        if name == "up":
            p.add_argument("--source-port", type=int, help="default: a free port")
            p.add_argument("--target-port", type=int, help="default: a free port")
            p.add_argument("--database", default=DEFAULT_DATABASE,
                           help=f"database name to export (default {DEFAULT_DATABASE})")
    wait_run = dev_sub.add_parser("wait-run", help="wait for a run a sensor launches (local instance)")
    wait_run.add_argument("--job", default="live_verification")
    wait_run.add_argument("--sensor", default="change_stream_sensor")
    wait_run.add_argument("--since-s", type=float, default=600,
                          help="only runs created in the last N seconds (default 600)")
    wait_run.add_argument("--timeout", type=float, default=300)
    wait_run.set_defaults(func=cmd_dev_wait_run)
    dev_sub.add_parser("fail-stale-runs", help="mark runs left STARTED by a killed process as "
                       "failed (local instance)").set_defaults(func=cmd_dev_fail_stale_runs)

    demo = sub.add_parser("demo-data", help="create and fill the demo shop database on the source")
    demo.add_argument("--scale", type=float, default=1.0,
                      help="1 = about 1,000,000 rows (default 1)")
    demo.add_argument("--seed", type=int, default=42, help="same seed, same data (default 42)")
    demo.add_argument("--replace", action="store_true",
                      help="drop the source database first if it already has tables")
    demo.add_argument("--locations", help="migrations folder (default db/migrations)")
    demo.set_defaults(func=cmd_demo_data)

    catalog_p = sub.add_parser("catalog", help="the table catalog the Dagster assets are built from")
    catalog_sub = catalog_p.add_subparsers(dest="catalog_command", required=True)
    refresh = catalog_sub.add_parser("refresh", help="read the source and rewrite the catalog file")
    refresh.add_argument("--batches", type=int, default=None,
                         help="partitions per table, the most a table is split into (default: "
                              "batches of about 100,000 rows, at most 16, as many partitions as "
                              "the largest table needs)")
    refresh.add_argument("--tables", nargs="*", help="only these tables (default: all)")
    refresh.add_argument("--store-key-values", action="store_true",
                         help="write the batch boundaries of every key into the catalog file as "
                              "key values, strings and binary too (emails, names: customer data "
                              "in a committed file); by default only number and date/time keys' "
                              "values are written, others as row offsets and a sha256, resolved "
                              "on the source by the first load and recorded on the target")
    refresh.set_defaults(func=cmd_catalog_refresh)
    for name, func, text in (("load", cmd_load, "copy every table's batches (no Dagster)"),
                             ("verify", cmd_verify, "compare row counts and checksums per batch")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--tables", nargs="*", help="only these tables (default: all)")
        p.set_defaults(func=func)
        p.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")
        if name == "load":
            p.add_argument("--workers", type=int, default=4, help="parallel batches (default 4)")
            p.add_argument("--no-validate", action="store_true", help="skip the pandera checks")
            p.add_argument("--strategy", default=None,
                           help="snapshot strategy: auto, lock or single (default "
                                "$DBMIGRATE_SNAPSHOT_STRATEGY or auto)")
        else:
            p.add_argument("--live", action="store_true",
                           help="compare while change capture runs: each table at one source position")
            p.add_argument("--rows", action="store_true",
                           help="name the rows behind the batches that differ: their keys, and the "
                                "columns that differ or missing / extra on target")
            p.add_argument("--limit", type=int, default=20,
                           help="with --rows: rows named per table, at most (default 20)")
            p.add_argument("--parquet", metavar="DIR",
                           help="write each table's differing rows (keys, what differs, source "
                                "and target values) to DIR/<table>.parquet, the rows named only "
                                "(--limit); implies --rows. The files of the tables verified are "
                                "removed first, so a table that matches now has none; other "
                                "files in DIR stay")
    refresh.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")

    cdc = sub.add_parser("cdc", help="change capture: the stream from the snapshot to the target")
    cdc_sub = cdc.add_subparsers(dest="cdc_command", required=True)
    for name, func, text in (
            ("preflight", cmd_cdc_preflight, "check that the source can feed change capture"),
            ("start", cmd_cdc_start, "start (or resume) the stream from the recorded snapshot"),
            ("status", cmd_cdc_status, "state, applied position, lag and the engine's last error"),
            ("stop", cmd_cdc_stop, "stop applying (start resumes where it stopped)"),
            ("reset", cmd_cdc_reset, "stop and forget the stream, so a new full load can run"),
            ("wait", cmd_cdc_wait, "wait until the target applied what the source has logged now")):
        p = cdc_sub.add_parser(name, help=text)
        p.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")
        p.set_defaults(func=func)
        if name == "wait":
            p.add_argument("--timeout", type=float, default=300, help="seconds (default 300)")

    cut = sub.add_parser("cutover", help="freeze the source, let the target catch up, verify, switch")
    cut.add_argument("--timeout", type=float, default=60,
                     help="seconds the frozen source waits for the target to catch up (default 60)")
    cut.add_argument("--no-reverse", action="store_true",
                     help="no reverse stream (default: the source replicates the target after the "
                          "switch, with the replication engine)")
    cut.add_argument("--abort", action="store_true",
                     help="call off an unfinished cutover (after a crash or a refusal) without "
                          "continuing: unfreeze the source, forget its steps; refused once switched")
    cut.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")
    cut.add_argument("--locations", help="migrations folder (default $DBMIGRATE_MIGRATIONS_DIR or "
                                         "db/migrations): none may be pending on the target")
    cut.set_defaults(func=cmd_cutover)

    wl = sub.add_parser("workload", help="a bounded write workload on the source (rehearsals)")
    wl.add_argument("--rate", type=float, default=200, help="row changes per second (default 200)")
    wl.add_argument("--seconds", type=float, default=30, help="how long (default 30)")
    wl.add_argument("--seed", type=int, default=1, help="same seed, same choices (default 1)")
    wl.add_argument("--threads", type=int, default=1,
                    help="connections writing in parallel, sharing the rate (default 1)")
    wl.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")
    wl.add_argument("--follow-cutover", action="store_true",
                    help="behave like an application through a cutover: retry the changes a "
                         "read-only source refuses, move to the target (AURORA_DB_*) once the "
                         "cutover has switched, and report how long changes were refused")
    wl.set_defaults(func=cmd_workload)

    dms = sub.add_parser("dms", help="AWS DMS settings generated from the catalog")
    dms_sub = dms.add_subparsers(dest="dms_command", required=True)
    mappings = dms_sub.add_parser("mappings", help="write the DMS table mappings JSON")
    mappings.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")
    mappings.add_argument("--output", default=DEFAULT_MAPPINGS, help=f"default {DEFAULT_MAPPINGS}")
    mappings.set_defaults(func=cmd_dms_mappings)

    aws = sub.add_parser("aws-env", help="AURORA_DB_* export lines from `terraform output -json`")
    aws.add_argument("outputs", help="file with the JSON, or - for standard input")
    aws.set_defaults(func=cmd_aws_env)

    aws_group = sub.add_parser("aws", help="AWS recovery actions through boto3")
    aws_sub = aws_group.add_subparsers(dest="aws_command", required=True)
    pitr_p = aws_sub.add_parser("pitr", help="restore the Aurora cluster to a point in time as a "
                                             "NEW cluster (last resort; the old one is untouched)")
    pitr_p.add_argument("--cluster", required=True, help="the Aurora cluster to restore from")
    when = pitr_p.add_mutually_exclusive_group(required=True)
    when.add_argument("--to", help='time to restore to, "2026-11-26 10:00:00" (UTC) or ISO 8601 '
                                   "with an offset; inside the cluster's restorable window")
    when.add_argument("--latest", action="store_true", help="the latest restorable time")
    pitr_p.add_argument("--new-cluster", required=True, help="identifier of the new cluster")
    pitr_p.add_argument("--instance-class", help="writer class (default: the source writer's)")
    pitr_p.add_argument("--clone", action="store_true",
                        help="copy-on-write clone instead of a full copy (faster; --latest only)")
    pitr_p.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    pitr_p.add_argument("--timeout", type=float, default=7200,
                        help="seconds to wait for the cluster and its writer (default 7200)")
    pitr_p.add_argument("--poll", type=float, default=30, help="seconds between status reads "
                                                                "(default 30)")
    pitr_p.set_defaults(func=cmd_aws_pitr)

    rollback = sub.add_parser("rollback", help="before cutover: return the target to empty or to a "
                                               "schema version; after: give the source the target's "
                                               "writes and make it the primary again")
    moment = rollback.add_mutually_exclusive_group(required=True)
    moment.add_argument("--before-cutover", action="store_true",
                        help="the cutover has not happened: stop and forget change capture")
    moment.add_argument("--after-cutover", action="store_true",
                        help="the cutover is done: freeze the target, let the source apply its "
                             "writes, verify, make the source writable")
    where = rollback.add_mutually_exclusive_group()
    where.add_argument("--to-version", help="undo the target's schema to this applied version")
    where.add_argument("--empty", action="store_true", help="drop and re-create the target database")
    rollback.add_argument("--timeout", type=float, default=60,
                          help="after cutover: seconds the frozen target waits for the source to "
                               "apply its writes (default 60)")
    rollback.add_argument("--catalog", help="catalog file (default $DBMIGRATE_CATALOG or db/catalog.json)")
    rollback.add_argument("--locations", help="migrations folder (default $DBMIGRATE_MIGRATIONS_DIR "
                                              "or db/migrations)")
    rollback.set_defaults(func=cmd_rollback)

    schema = sub.add_parser("schema", help="Flyway-compatible versioned schema migrations")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    commands = {
        "info": (cmd_schema_info, "list migrations and their state"),
        "validate": (cmd_schema_validate, "check applied migrations against the files"),
        "migrate": (cmd_schema_migrate, "apply pending migrations"),
        "baseline": (cmd_schema_baseline, "mark an existing database at a version"),
        "repair": (cmd_schema_repair, "remove failed entries, realign checksums"),
        "undo": (cmd_schema_undo, "run the U scripts of the versions newer than --target"),
        "capture": (cmd_schema_capture, "write the live schema as a baseline migration file"),
    }
    for name, (func, text) in commands.items():
        p = schema_sub.add_parser(name, help=text)
        p.add_argument("--locations", help="migrations folder, like Flyway's -locations "
                                           "(default $DBMIGRATE_MIGRATIONS_DIR or db/migrations)")
        p.add_argument("--table", default="flyway_schema_history", help="history table name")
        default_db = "source" if name == "capture" else "target"
        p.add_argument("--db", choices=("source", "target"), default=default_db,
                       help=f"which server (default {default_db})")
        p.set_defaults(func=func)
        if name == "migrate":
            p.add_argument("--target", help="migrate up to this version only")
        if name == "undo":
            p.add_argument("--target", help="undo every applied version newer than this one "
                                            "(default: undo the newest only)")
        if name == "baseline":
            p.add_argument("--baseline-version", default="1", help="version to mark (default 1)")
            p.add_argument("--baseline-description", default="<< Flyway Baseline >>")
        if name == "capture":
            p.add_argument("--version", help="version of the new file (default: next major)")
            p.add_argument("--description", default="baseline_schema",
                           help="description part of the file name (default baseline_schema)")
            p.add_argument("--output-dir", help="folder to write to (default: --locations)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MigrationError as exc:
        if args.debug:
            raise
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("FAILED: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
