"""Privileges that come through a role count (issue 8): a user whose every privilege is granted
to a default role passes the pre-flight and loads; a privilege that is genuinely missing is
still named; table-level grants count where a table grant is enough.

MariaDB 10.11 serves the integration tests; the MySQL 8 forms of ``SHOW GRANTS`` (dynamic
privileges, ``USING`` output, partial revokes) are covered by the pure cases at the top.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from migration_assets.lib.cdc import preflight as cdc_preflight
from migration_assets.lib.connection import DbSettings
from migration_assets.lib.copy import preflight
from migration_assets.lib.copy.preflight import (
    SOURCE_NEEDS,
    TARGET_NEEDS,
    Grant,
    held_on,
    missing_privileges,
    parse_grant,
)
from migration_assets.lib.dialects.mysql import quote
from migration_assets.lib.errors import MigrationError
from tests.helpers import query
from tests.integration import test_full_load
from tests.integration.test_full_load import all_rows, load

demo_pair = test_full_load.demo_pair  # the same filled source and migrated target

# -- pure: SHOW GRANTS lines, one per case ------------------------------------------------------
PARSE_CASES = [
    ("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'",
     Grant(frozenset({"USAGE"}), None, None)),
    ("GRANT SELECT, INSERT ON `shop`.* TO `r_load`", Grant(frozenset({"SELECT", "INSERT"}), "shop", None)),
    ("GRANT DELETE ON `shop`.`orders` TO `r`", Grant(frozenset({"DELETE"}), "shop", "orders")),
    ("GRANT SELECT (`id`, `email`), UPDATE ON `shop`.`customers` TO `u`@`%`",
     Grant(frozenset({"UPDATE"}), "shop", "customers")),  # column grants are not table grants
    ("GRANT ALL ON `s``q`.* TO 'u'@'%'", Grant(frozenset({"ALL PRIVILEGES"}), "s`q", None)),
    ("GRANT BINLOG_ADMIN,REPLICATION_SLAVE_ADMIN ON *.* TO `admin`@`%`",  # MySQL 8 dynamic
     Grant(frozenset({"BINLOG_ADMIN", "REPLICATION_SLAVE_ADMIN"}), None, None)),
    ("REVOKE INSERT ON `shop`.* FROM `u`@`%`", Grant(frozenset({"INSERT"}), "shop", None, True)),
    ("GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `u`@`%`", None),
    ("GRANT `rds_superuser_role`@`%` TO `admin`@`%`", None),
    ("GRANT `r_outer` TO `u`@`%`", None),
    ("SET DEFAULT ROLE `r_outer` FOR `u`@`%`", None),
]


@pytest.mark.parametrize(("line", "expected"), PARSE_CASES)
def test_parse_grant(line: str, expected: Grant | None) -> None:
    assert parse_grant(line) == expected


def _grants(*lines: str) -> list[Grant]:
    return [g for g in map(parse_grant, lines) if g is not None]


def test_held_on_wildcards_tables_and_partial_revokes() -> None:
    grants = _grants("GRANT SELECT ON `shop\\_%`.* TO `r`", "GRANT ALTER ON `shopx`.`orders` TO `r`",
                     "GRANT INSERT ON *.* TO `u`@`%`", "REVOKE INSERT ON `shop_eu`.* FROM `u`@`%`")
    assert held_on(grants, "shop_eu") == {"SELECT"}
    assert held_on(grants, "shopxeu") == {"INSERT"}  # "\_" is a literal underscore
    assert held_on(grants, "shopx", "orders") == {"INSERT", "ALTER"}
    assert held_on(grants, "shopx", "other") == {"INSERT"}


def test_table_grants_count_only_when_every_loaded_table_has_them() -> None:
    grants = _grants("GRANT SELECT ON `shop`.`a` TO `r`", "GRANT SELECT ON `shop`.`b` TO `r`")
    assert missing_privileges(grants, "shop", ["a", "b"], SOURCE_NEEDS) == ([], {})
    assert missing_privileges(grants, "shop", ["a", "b", "c"], SOURCE_NEEDS) == ([], {"SELECT": ["c"]})
    assert missing_privileges(grants, "other", ["a"], SOURCE_NEEDS) == (["SELECT"], {})
    # CREATE is used on tables the load makes itself: a table grant is not enough for it.
    target = _grants("GRANT SELECT, INSERT, UPDATE, DELETE, ALTER, DROP, TRIGGER ON `t`.* TO `r`",
                     "GRANT CREATE ON `t`.`a` TO `r`")
    assert missing_privileges(target, "t", ["a"], TARGET_NEEDS) == (["CREATE"], {})


# -- real servers: users whose privileges come only from a default role -------------------------
@pytest.fixture
def role_user() -> Iterator[Callable[..., DbSettings]]:
    """Factory: a new user on ``admin``'s server whose privileges all come from a new role,
    enabled by default (``grants``: "SELECT ON `db`.*" ...); both dropped afterwards."""
    made: list[tuple[DbSettings, str, str]] = []

    def make(admin: DbSettings, grants: list[str], *, nested: bool = False,
             default_role: bool = True) -> DbSettings:
        tag = uuid.uuid4().hex[:8]
        user, role, inner = f"ru_{tag}", f"role_{tag}", f"role_{tag}_in"
        password = f"pw-{uuid.uuid4().hex}"
        made.append((admin, user, role))
        query(admin, f"CREATE ROLE {quote(role)}")
        holder = role
        if nested:  # the privileges sit on a role granted to the user's role
            made.append((admin, "", inner))
            query(admin, f"CREATE ROLE {quote(inner)}")
            query(admin, f"GRANT {quote(inner)} TO {quote(role)}")
            holder = inner
        for grant in grants:
            query(admin, f"GRANT {grant} TO {quote(holder)}")
        query(admin, f"CREATE USER {quote(user)}@'%' IDENTIFIED BY %s".replace("'%'", "'%%'"),
              (password,))
        query(admin, f"GRANT {quote(role)} TO {quote(user)}@'%'")
        if default_role:
            query(admin, f"SET DEFAULT ROLE {quote(role)} FOR {quote(user)}@'%'")
        return replace(admin, user=user, password=password)

    yield make
    for admin, user, role in reversed(made):
        if user:
            query(admin, f"DROP USER IF EXISTS {quote(user)}@'%'")
        query(admin, f"DROP ROLE IF EXISTS {quote(role)}")


SOURCE_ROLE = ["SELECT ON `{db}`.*", "BINLOG MONITOR, REPLICATION SLAVE ON *.*"]
TARGET_ROLE = ["SELECT, INSERT, UPDATE, DELETE, ALTER, CREATE, DROP, TRIGGER, INDEX, REFERENCES "
               "ON `{db}`.*"]


def _fill(grants: list[str], settings: DbSettings) -> list[str]:
    return [g.format(db=settings.database) for g in grants]


@pytest.mark.mariadb
def test_user_with_privileges_only_from_a_default_role_loads(demo_pair, role_user) -> None:
    source, target, catalog = demo_pair
    src = role_user(source, _fill(SOURCE_ROLE, source))
    tgt = role_user(target, _fill(TARGET_ROLE, target), nested=True)
    assert query(src, "SHOW GRANTS FOR CURRENT_USER")  # the user itself holds nothing but USAGE
    assert all(" ON " not in line or "USAGE" in line
               for (line,) in query(src, "SHOW GRANTS FOR CURRENT_USER"))
    assert preflight.check(catalog, list(catalog.tables), src, tgt).target_columns
    assert cdc_preflight.grants_of(src) >= {"REPLICATION SLAVE", "BINLOG MONITOR"}
    results = load(catalog, src, tgt, replication_user=src)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for table in catalog.tables:
        key = ", ".join(quote(k) for k in table.key)
        assert all_rows(target, table.name, key) == all_rows(source, table.name, key), table.name


@pytest.mark.mariadb
def test_missing_privilege_is_still_named_with_roles(demo_pair, role_user) -> None:
    source, target, catalog = demo_pair
    src = role_user(source, _fill(SOURCE_ROLE, source))
    short = role_user(target, [g.replace("TRIGGER, ", "") for g in _fill(TARGET_ROLE, target)])
    with pytest.raises(MigrationError) as err:
        preflight.check(catalog, list(catalog.tables), src, short)
    assert f"user '{short.user}' lacks TRIGGER on the target database '{target.database}'" \
        in str(err.value)
    assert "SELECT" not in str(err.value).split("lacks", 1)[1].split(" on ", 1)[0]
    # A role granted but not enabled by default gives nothing, as the server itself decides.
    idle = role_user(source, _fill(SOURCE_ROLE, source), default_role=False)
    with pytest.raises(MigrationError, match=f"user '{idle.user}' lacks SELECT on the source "
                                             f"database '{source.database}'"):
        preflight.check(catalog, list(catalog.tables), idle, short)
    repl = role_user(source, ["BINLOG MONITOR ON *.*"])
    with pytest.raises(MigrationError, match="the replication user lacks REPLICATION SLAVE"):
        cdc_preflight.check(source, replication=repl, tables=[], measured_bytes_per_s=None)


@pytest.mark.mariadb
def test_table_level_grants_through_a_role(demo_pair, role_user) -> None:
    source, target, catalog = demo_pair
    tables = [t.name for t in catalog.tables]
    per_table = [f"SELECT ON {quote(source.database)}.{quote(t)}" for t in tables]
    src = role_user(source, [*per_table, "BINLOG MONITOR ON *.*"])
    assert preflight.check(catalog, list(catalog.tables), src, target)
    partial = role_user(source, per_table[1:])
    with pytest.raises(MigrationError) as err:
        preflight.check(catalog, list(catalog.tables), partial, target)
    assert (f"user '{partial.user}' lacks SELECT on the source table(s) {tables[0]} of "
            f"'{source.database}'") in str(err.value)
