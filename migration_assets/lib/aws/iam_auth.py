"""IAM database authentication: a short-lived token in place of a database password.

With ``AURORA_DB_IAM_AUTH=1`` (or ``ON_PREM_DB_IAM_AUTH=1`` for an RDS source) each connect
asks boto3's ``rds.generate_db_auth_token`` for a token for that host, port, user and region
(``<PREFIX>REGION``, else ``AWS_REGION``/``AWS_DEFAULT_REGION``) and sends it as the password.
A token is a SigV4-presigned URL (``host:port/?Action=connect&DBUser=...&X-Amz-Signature=...``)
valid for 15 minutes; it is made locally from the caller's AWS credentials, with no call to
AWS, so making one per connection costs microseconds and a long run never holds an expired
one. The server then asks for it in clear text (``mysql_clear_password``), which is why the
connection refuses IAM without a CA to verify TLS against (``<PREFIX>SSL_CA``).

What must exist on Aurora (the Terraform enables ``iam_database_authentication_enabled``):

* the database user, created by the master user::

      CREATE USER 'dbmigrate'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS';
      GRANT ... ON `shop`.* TO 'dbmigrate'@'%';   -- what the load needs (see the README)

* for the AWS identity running the migration, an IAM policy allowing ``rds-db:connect`` on
  ``arn:aws:rds-db:<region>:<account>:dbuser:<cluster resource id>/dbmigrate``.

Guarantee: the token is returned to the connection and nowhere else: never logged, kept in
settings, or put in a message (connection errors replace it with ``***``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migration_assets.lib.errors import MigrationError

if TYPE_CHECKING:
    from migration_assets.lib.connection import DbSettings

#: How long AWS accepts a token (fixed by RDS; a token is made per connection anyway).
TOKEN_LIFETIME_S = 15 * 60


def auth_token(settings: DbSettings, *, client: Any | None = None) -> str:
    """A fresh token for ``settings``' host, port, user and region.

    ``client``: an ``rds`` boto3 client (tests pass one bound to a moto server); by default one
    is made for the region, and boto3 reads credentials and ``AWS_ENDPOINT_URL_RDS`` itself.
    """
    if not settings.region:
        raise MigrationError(f"IAM authentication to the {settings.role} needs an AWS region: "
                             "set its REGION variable or AWS_REGION")
    try:
        import boto3
        import botocore.exceptions
    except ImportError:  # pragma: no cover - boto3 comes with dagster-aws
        raise MigrationError("IAM authentication needs boto3: pip install boto3") from None
    try:
        # A session of its own: the default one caches the credentials it first found.
        rds = client or boto3.session.Session().client("rds", region_name=settings.region)
        return str(rds.generate_db_auth_token(DBHostname=settings.host, Port=settings.port,
                                              DBUsername=settings.user, Region=settings.region))
    except botocore.exceptions.NoCredentialsError:
        raise MigrationError(
            f"no AWS credentials to make an IAM token for the {settings.role} "
            f"{settings.user}@{settings.address}: configure them (AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an instance role)"
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise MigrationError(f"could not make an IAM token for the {settings.role} "
                             f"{settings.address}: {exc}") from None
