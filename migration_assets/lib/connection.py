"""Connection settings for a MySQL-compatible server and a connect() that fails in sentences.

Guarantee: no password (nor IAM token) ever appears in a ``repr``, a log line or an error
message; driver errors are turned into one :class:`MigrationError` sentence naming the role,
user and address ("access denied for user 'app' on source 10.0.0.5:3306") and, for TLS, the
variable to set. Settings come from environment variables named ``<PREFIX>HOST`` ...
(``ON_PREM_DB_`` for the source, ``AURORA_DB_`` for the target), the names users already keep
in their CI secrets.

TLS is used exactly when ``<PREFIX>SSL_CA`` (or a client certificate) is set, and then always
verified: the server's certificate must chain to that CA and name the host connected to. Its
files are checked before connecting. Aurora refuses clients without TLS
(``require_secure_transport=ON``): MySQL says so with error 3159, MariaDB with "access
denied"; both become a sentence naming ``<PREFIX>SSL_CA``.

IAM database authentication (``<PREFIX>IAM_AUTH=1``): the password is a fresh token made at
each connect (:mod:`migration_assets.lib.aws.iam_auth`), sent only over verified TLS.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

from migration_assets.lib.dialects.mysql import check_name
from migration_assets.lib.errors import MigrationError

SOURCE_PREFIX = "ON_PREM_DB_"
TARGET_PREFIX = "AURORA_DB_"
REQUIRED_SUFFIXES = ("HOST", "PORT", "USER", "PASSWORD", "NAME")
TLS_SUFFIXES = ("SSL_CA", "SSL_CERT", "SSL_KEY")
#: Values of ``<PREFIX>IAM_AUTH`` that turn IAM database authentication on.
TRUE_WORDS = ("1", "true", "yes", "on")
#: The server refused a client without TLS (MySQL 8 / Aurora: require_secure_transport=ON).
INSECURE_TRANSPORT = 3159
#: The client asked for TLS and the server offers none (pymysql: CR_SSL_CONNECTION_ERROR).
TLS_NOT_OFFERED = 2026
#: Client errors meaning the server is unreachable or the connection dropped.
CONNECTION_ERRORS = (2003, 2005, 2006, 2013)
#: The server rolled back a statement (lock wait timeout) or a transaction (deadlock): retryable.
LOCK_ERRORS = (1205, 1213)


@dataclass(frozen=True)
class DbSettings:
    """Where and how to connect; ``role`` ("source"/"target") only names it in messages."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    role: str = "server"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    connect_timeout: int = 10
    #: The password is an IAM token made at each connect (``password`` is then unused).
    iam_auth: bool = False
    #: The AWS region the IAM token is signed for.
    region: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        """Password-free description for logs: ``source app@10.0.0.5:3306/shop``."""
        return f"{self.role} {self.user}@{self.address}/{self.database}"

    def with_database(self, database: str) -> DbSettings:
        return replace(self, database=database)


def env_prefix(role: str) -> str | None:
    """The variables' prefix for a role ("source (app)" is still the source's), else None."""
    if role.startswith("source"):
        return SOURCE_PREFIX
    if role.startswith("target"):
        return TARGET_PREFIX
    return None


def _variable(settings: DbSettings, suffix: str) -> str:
    prefix = env_prefix(settings.role)
    return prefix + suffix if prefix else f"the {settings.role}'s {suffix.lower()} setting"


def settings_from_env(
    prefix: str, role: str, env: Mapping[str, str] | None = None, default_database: str | None = None
) -> DbSettings:
    """Read ``<prefix>HOST`` ... from the environment, naming every missing variable at once.

    With ``<prefix>IAM_AUTH`` on, ``<prefix>PASSWORD`` is not needed and a region is
    (``<prefix>REGION``, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``).
    """
    env = os.environ if env is None else env
    iam = (env.get(prefix + "IAM_AUTH") or "").strip().lower() in TRUE_WORDS
    region = env.get(prefix + "REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    values = {s: env.get(prefix + s) for s in REQUIRED_SUFFIXES if not (iam and s == "PASSWORD")}
    if not values["NAME"] and default_database:
        values["NAME"] = default_database
    missing = [prefix + s for s, v in values.items() if not v]
    if iam and not region:
        missing.append(f"{prefix}REGION (or AWS_REGION, for {prefix}IAM_AUTH)")
    if missing:
        raise MigrationError(
            f"missing environment variable{'s' if len(missing) > 1 else ''} for the {role}: "
            + ", ".join(missing)
            + " (run `dbmigrate dev up` for local servers, or export them for real ones)"
        )
    try:
        port = int(values["PORT"] or "")
    except ValueError:
        raise MigrationError(
            f"{prefix}PORT must be a port number, got {values['PORT']!r}"
        ) from None
    for suffix, what in (("HOST", "host"), ("USER", "user"), ("NAME", "database name")):
        # They reach SQL text, generated scripts and messages.
        check_name(values[suffix] or "", f"the {role} {what}", f"(from {prefix}{suffix})")
    tls = {s: env.get(prefix + s) or None for s in TLS_SUFFIXES}
    return DbSettings(
        host=values["HOST"] or "",
        port=port,
        user=values["USER"] or "",
        password=values.get("PASSWORD") or "",
        database=values["NAME"] or "",
        role=role,
        ssl_ca=tls["SSL_CA"],
        ssl_cert=tls["SSL_CERT"],
        ssl_key=tls["SSL_KEY"],
        iam_auth=iam,
        region=region if iam else None,
    )


def source_settings_from_env(env: Mapping[str, str] | None = None) -> DbSettings:
    return settings_from_env(SOURCE_PREFIX, "source", env)


def target_settings_from_env(env: Mapping[str, str] | None = None) -> DbSettings:
    """``AURORA_DB_NAME`` defaults to ``ON_PREM_DB_NAME``: the usual case keeps the name."""
    env = os.environ if env is None else env
    return settings_from_env(
        TARGET_PREFIX, "target", env, default_database=env.get(SOURCE_PREFIX + "NAME")
    )


def _tls_sentence(reason: BaseException, settings: DbSettings) -> str:
    """A failed TLS handshake: a certificate that does not verify, or another TLS error."""
    where = f"{settings.role} {settings.address}"
    ca = _variable(settings, "SSL_CA")
    if isinstance(reason, ssl.SSLCertVerificationError):
        why = reason.verify_message or str(reason)
        if "hostname" in why.lower():
            return (f"the TLS certificate of the {where} does not name the host "
                    f"'{settings.host}' ({why}): connect with a name the certificate holds "
                    "(for Aurora: the cluster endpoint, not an IP address)")
        return (f"the TLS certificate of the {where} does not verify against {ca} "
                f"({settings.ssl_ca}): {why}; set {ca} to the CA that signed it (for Aurora: "
                "the RDS CA bundle of the cluster's region)")
    return f"the TLS handshake with the {where} failed ({reason}): check {ca} and the server's TLS setup"


def _error_sentence(exc: pymysql.err.MySQLError, settings: DbSettings,
                    offered_tls: bool = False) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    where = f"{settings.role} {settings.address}"
    ca = _variable(settings, "SSL_CA")
    original = getattr(exc, "original_exception", None)
    if isinstance(original, ssl.SSLError):
        return _tls_sentence(original, settings)
    if code == INSECURE_TRANSPORT:
        return (f"the {where} accepts only TLS connections (require_secure_transport=ON): set "
                f"{ca} to the CA file that signed its certificate (for Aurora: the RDS CA "
                "bundle of the cluster's region)")
    if code == TLS_NOT_OFFERED:
        return (f"the {where} does not offer TLS, but {ca} is set: enable TLS on the server, "
                f"or unset {ca} to connect without it")
    if code in CONNECTION_ERRORS:
        return f"cannot reach the {where}: is the server running and the host/port right? ({detail})"
    if code == 1045:
        if settings.iam_auth:
            return (f"access denied for IAM user '{settings.user}' on {where}: the user must be "
                    "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' there, and the AWS "
                    "identity allowed rds-db:connect on it")
        sentence = f"access denied for user '{settings.user}' on {where}: check the user and password"
        if offered_tls and not settings.ssl_ca:
            # MariaDB refuses a client without TLS under require_secure_transport this way.
            sentence += (f" (or, if it accepts only TLS connections as Aurora does, set {ca} "
                         "to its CA file)")
        return sentence
    if code == 1044:
        return (
            f"user '{settings.user}' has no access to database '{settings.database}' "
            f"on {where}: grant it or use another user"
        )
    if code == 1049:
        return f"database '{settings.database}' does not exist on {where}"
    if code in (1142, 1227, 1370):
        return f"missing privilege for user '{settings.user}' on {where}: {detail}"
    return f"{where} error {code}: {detail}" if code else f"{where} error: {detail}"


def describe_error(exc: pymysql.err.MySQLError, settings: DbSettings, *,
                   offered_tls: bool = False, secret: str = "") -> MigrationError:
    """Turn a driver error into a sentence that names the server but never the password.

    ``offered_tls``: the server advertised TLS in its greeting (a refusal may then be its
    require_secure_transport); ``secret``: another value to keep out (an IAM token).
    """
    message = _error_sentence(exc, settings, offered_tls)
    for hidden in (settings.password, secret):
        if hidden:
            message = message.replace(hidden, "***")
    return MigrationError(message)


def check_tls_files(settings: DbSettings) -> None:
    """Each configured TLS file exists and is readable: else one sentence, before connecting."""
    for suffix, path in (("SSL_CA", settings.ssl_ca), ("SSL_CERT", settings.ssl_cert),
                         ("SSL_KEY", settings.ssl_key)):
        if not path:
            continue
        variable = _variable(settings, suffix)
        if not os.path.isfile(path):
            raise MigrationError(f"{variable} names {path}, which is not a file: set it to the "
                                 f"{'CA bundle' if suffix == 'SSL_CA' else 'PEM file'} of the "
                                 f"{settings.role} (for Aurora: the RDS CA bundle, "
                                 "global-bundle.pem)")
        if not os.access(path, os.R_OK):
            raise MigrationError(f"{variable} names {path}, which this user cannot read: fix "
                                 "its permissions or point it at a readable copy")
    if settings.iam_auth and not settings.ssl_ca:
        raise MigrationError(
            f"IAM authentication to the {settings.role} {settings.address} sends its token in "
            f"clear text, so it needs TLS: set {_variable(settings, 'SSL_CA')} to the RDS CA "
            "bundle of the cluster's region"
        )


def _ssl_options(settings: DbSettings) -> dict[str, str] | None:
    if not (settings.ssl_ca or settings.ssl_cert):
        return None
    return {k: v for k, v in {"ca": settings.ssl_ca, "cert": settings.ssl_cert,
                              "key": settings.ssl_key}.items() if v}


def open_connection(
    settings: DbSettings, *, use_database: bool = True, autocommit: bool = True, **extra: Any
) -> pymysql.connections.Connection:
    """Open a connection, or raise :class:`MigrationError` with a sentence a user can act on.

    ``use_database=False`` connects to the server only, for creating or inspecting databases.
    """
    check_tls_files(settings)
    ssl_options = _ssl_options(settings)
    password = settings.password
    if settings.iam_auth:
        from migration_assets.lib.aws import iam_auth

        password = iam_auth.auth_token(settings)
    options: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=password,
        database=settings.database if use_database else None,
        charset="utf8mb4",
        autocommit=autocommit,
        connect_timeout=settings.connect_timeout,
        ssl=ssl_options,
        # TLS exactly when configured: never an unverified "preferred" TLS (which also
        # costs ~20 ms of CPU per connection for a context nobody checks). With a CA, pymysql
        # verifies the chain and the host name, and refuses a server offering no TLS (2026).
        # IAM tokens go out through the server's mysql_clear_password switch, which pymysql
        # answers with the token as is: safe only because TLS is then required above.
        ssl_disabled=ssl_options is None,
        defer_connect=True,  # to read the server's greeting when the login fails
    )
    conn: pymysql.connections.Connection | None = None
    try:
        conn = pymysql.connections.Connection(**{**options, **extra})
        conn.connect()
    except pymysql.err.MySQLError as exc:
        offered = bool(getattr(conn, "server_capabilities", 0) & CLIENT.SSL)
        raise describe_error(exc, settings, offered_tls=offered,
                             secret=password if settings.iam_auth else "") from exc
    except OSError as exc:  # DNS failure, a TLS file unusable (unreadable key, bad PEM)
        raise MigrationError(f"cannot connect to the {settings.role} {settings.address}: {exc}") from exc
    return conn


@contextmanager
def connect(
    settings: DbSettings, *, use_database: bool = True, autocommit: bool = True, **extra: Any
) -> Iterator[pymysql.connections.Connection]:
    """Context-managed :func:`open_connection` that always closes."""
    conn = open_connection(settings, use_database=use_database, autocommit=autocommit, **extra)
    try:
        yield conn
    finally:
        conn.close()
