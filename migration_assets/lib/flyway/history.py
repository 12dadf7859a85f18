"""Reads and writes Flyway's ``flyway_schema_history`` table on MySQL-family servers.

The table layout is Flyway's own (same columns, types, primary key and index), so Flyway
and this tool can take turns on one database. Values are bound parameters; the schema and
table names go through the dialect's ``quote()``.
"""

from __future__ import annotations

from pymysql.connections import Connection

from migration_assets.lib.dialects.mysql import qualified, quote
from migration_assets.lib.flyway.state import AppliedMigration

DEFAULT_TABLE = "flyway_schema_history"

_COLUMNS = (
    "installed_rank, version, description, type, script, checksum, installed_by, "
    "installed_on, execution_time, success"
)


def create_table_sql(schema: str, table: str = DEFAULT_TABLE) -> list[str]:
    """Flyway's MySQL ``createMetaDataTable.sql``."""
    return [
        f"""CREATE TABLE {qualified(schema, table)} (
    `installed_rank` INT NOT NULL,
    `version` VARCHAR(50),
    `description` VARCHAR(200) NOT NULL,
    `type` VARCHAR(20) NOT NULL,
    `script` VARCHAR(1000) NOT NULL,
    `checksum` INT,
    `installed_by` VARCHAR(100) NOT NULL,
    `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    `execution_time` INT NOT NULL,
    `success` BOOL NOT NULL,
    CONSTRAINT {quote(table + '_pk')} PRIMARY KEY (`installed_rank`)
) ENGINE=InnoDB""",
        f"CREATE INDEX {quote(table + '_s_idx')} ON {qualified(schema, table)} (`success`)",
    ]


def table_exists(conn: Connection, schema: str, table: str = DEFAULT_TABLE) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        )
        return cur.fetchone() is not None


def create_table(conn: Connection, schema: str, table: str = DEFAULT_TABLE) -> None:
    with conn.cursor() as cur:
        for sql in create_table_sql(schema, table):
            cur.execute(sql)


def read_applied(conn: Connection, schema: str, table: str = DEFAULT_TABLE) -> list[AppliedMigration]:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM {qualified(schema, table)} ORDER BY installed_rank"
        )
        return [
            AppliedMigration(
                installed_rank=int(r[0]),
                version=r[1],
                description=r[2],
                type=r[3],
                script=r[4],
                checksum=None if r[5] is None else int(r[5]),
                installed_by=r[6],
                installed_on=r[7],
                execution_time=int(r[8]),
                success=bool(r[9]),
            )
            for r in cur.fetchall()
        ]


def insert(
    conn: Connection,
    schema: str,
    *,
    version: str | None,
    description: str,
    type_: str,
    script: str,
    checksum: int | None,
    installed_by: str,
    execution_time_ms: int,
    success: bool,
    table: str = DEFAULT_TABLE,
    rank: int | None = None,
) -> None:
    """Append a row; the rank is one past the highest unless given (schema creation uses 0)."""
    target = qualified(schema, table)
    with conn.cursor() as cur:
        if rank is None:
            cur.execute(f"SELECT COALESCE(MAX(installed_rank), 0) + 1 FROM {target}")
            row = cur.fetchone()
            rank = int(row[0]) if row else 1
        cur.execute(
            f"INSERT INTO {target} (installed_rank, version, description, type, script, checksum,"
            " installed_by, execution_time, success) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (rank, version, description[:200], type_, script[:1000], checksum,
             installed_by[:100], execution_time_ms, 1 if success else 0),
        )


def current_user(conn: Connection) -> str:
    """The user name without host, as Flyway records it in ``installed_by``."""
    with conn.cursor() as cur:
        cur.execute("SELECT SUBSTRING_INDEX(USER(), '@', 1)")
        row = cur.fetchone()
    return str(row[0]) if row else ""
