"""IAM database authentication tokens, made by boto3 against a moto server (AWS in server
mode, as the other AWS tests): their shape, the variables they come from, the sentences when
something is missing, and that a token never shows in a ``repr`` or a message."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from migration_assets.lib.aws.iam_auth import TOKEN_LIFETIME_S, auth_token
from migration_assets.lib.connection import target_settings_from_env
from migration_assets.lib.errors import MigrationError

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch, moto_url: str):
    """Fake credentials for moto, and an rds client bound to the moto server."""
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDMOTO", "AWS_SECRET_ACCESS_KEY": "moto-secret",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    # A session of its own: boto3's default one keeps the credentials it first resolved
    # (another test's), whatever the environment says now.
    session = boto3.session.Session(aws_access_key_id="AKIDMOTO", aws_secret_access_key="moto-secret",
                                    region_name=REGION)
    return session.client("rds", endpoint_url=moto_url)


def _cluster_env(rds) -> dict[str, str]:  # noqa: ANN001
    """The variables a user exports for a new IAM-enabled cluster made on moto (no password)."""
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=f"shop-iam-{uuid.uuid4().hex[:8]}", Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.05.2",
        MasterUsername="admin", MasterUserPassword="master-pw-123",
        EnableIAMDatabaseAuthentication=True)["DBCluster"]
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    return {"AURORA_DB_HOST": cluster["Endpoint"], "AURORA_DB_PORT": str(cluster["Port"]),
            "AURORA_DB_USER": "dbmigrate", "AURORA_DB_NAME": "shop", "AURORA_DB_IAM_AUTH": "1",
            "AURORA_DB_SSL_CA": "/etc/rds/global-bundle.pem", "AWS_REGION": REGION}


def test_token_for_the_cluster_endpoint_has_the_presigned_shape(aws) -> None:
    env = _cluster_env(aws)
    settings = target_settings_from_env(env)
    assert (settings.iam_auth, settings.region, settings.password) == (True, REGION, "")
    token = auth_token(settings, client=aws)
    url = urlsplit("https://" + token)
    assert (url.hostname, url.port, url.path) == (env["AURORA_DB_HOST"], settings.port, "/")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["Action"] == "connect" and query["DBUser"] == "dbmigrate"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].startswith("AKIDMOTO/") and f"/{REGION}/rds-db/" in query[
        "X-Amz-Credential"]
    assert int(query["X-Amz-Expires"]) == TOKEN_LIFETIME_S
    assert len(query["X-Amz-Signature"]) == 64
    assert "moto-secret" not in token
    assert token not in repr(settings) and token not in settings.describe()


def test_a_token_is_signed_for_its_user_and_region(aws) -> None:
    env = _cluster_env(aws)
    token = auth_token(target_settings_from_env(env), client=aws)
    other = auth_token(target_settings_from_env({**env, "AURORA_DB_USER": "reporter",
                                                 "AURORA_DB_REGION": "us-east-2"}), client=aws)
    assert "DBUser=dbmigrate" in token and f"%2F{REGION}%2Frds-db%2F" in token
    assert "DBUser=reporter" in other and "%2Fus-east-2%2Frds-db%2F" in other


def test_no_credentials_is_one_sentence(monkeypatch, tmp_path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = target_settings_from_env({
        "AURORA_DB_HOST": "shop.cluster-x.eu-west-1.rds.amazonaws.com", "AURORA_DB_PORT": "3306",
        "AURORA_DB_USER": "dbmigrate", "AURORA_DB_NAME": "shop", "AURORA_DB_IAM_AUTH": "yes",
        "AURORA_DB_REGION": REGION})
    with pytest.raises(MigrationError) as err:
        auth_token(settings)
    assert str(err.value) == (
        "no AWS credentials to make an IAM token for the target dbmigrate@"
        "shop.cluster-x.eu-west-1.rds.amazonaws.com:3306: configure them (AWS_PROFILE, "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an instance role)")


def test_the_dagster_resource_takes_iam_auth_from_the_environment(monkeypatch) -> None:
    from migration_assets.defs.resources import database_resource

    monkeypatch.setenv("AURORA_DB_IAM_AUTH", "1")
    monkeypatch.setenv("AURORA_DB_REGION", "eu-west-1")
    monkeypatch.delenv("AURORA_DB_PASSWORD", raising=False)
    resource = database_resource("AURORA_DB_", "target")
    assert resource.iam_auth and resource.region == "eu-west-1" and resource.password == ""
    monkeypatch.delenv("AURORA_DB_IAM_AUTH")
    assert not database_resource("AURORA_DB_", "target").iam_auth
