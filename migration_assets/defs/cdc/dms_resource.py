"""The AWS DMS engine as a Dagster resource, on dagster-aws's boto3 configuration.

Region, endpoint URL (a VPC endpoint, or a moto server in tests), profile, credentials and
retries are configured the dagster-aws way (``ResourceWithBoto3Configuration``); the task's
identity and the ARNs needed to create it come from the Terraform outputs (see
``lib/cdc/dms_env.py`` for the variables).
"""


import boto3
from botocore.config import Config
from dagster_aws.utils import ResourceWithBoto3Configuration

from migration_assets.lib.cdc import dms_env
from migration_assets.lib.cdc.dms_stream import DEFAULT_STALE_AFTER_S, DmsStream


class DmsResource(ResourceWithBoto3Configuration):
    """A CDC-only DMS task started at the snapshot's position (``DBMIGRATE_CDC_ENGINE=dms``)."""

    task_id: str = ""  # default: dbmigrate-<database>-cdc
    replication_instance_arn: str | None = None
    source_endpoint_arn: str | None = None
    target_endpoint_arn: str | None = None
    task_settings_path: str | None = dms_env.DEFAULT_TASK_SETTINGS
    stale_after_s: float = DEFAULT_STALE_AFTER_S

    def settings(self, database: str) -> dms_env.DmsSettings:
        return dms_env.DmsSettings(
            task_id=self.task_id or dms_env.default_task_id(database),
            replication_instance_arn=self.replication_instance_arn,
            source_endpoint_arn=self.source_endpoint_arn, target_endpoint_arn=self.target_endpoint_arn,
            task_settings_path=self.task_settings_path, stale_after_s=self.stale_after_s)

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            region_name=self.region_name, profile_name=self.profile_name,
            aws_access_key_id=self.aws_access_key_id, aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token)

    def stream(self, database: str, table_mappings: str) -> DmsStream:
        client_kwargs = {"endpoint_url": self.endpoint_url, "use_ssl": self.use_ssl,
                         "verify": self.verify,
                         "config": Config(retries={"max_attempts": self.max_attempts, "mode": "standard"})}
        return dms_env.make_stream(self.settings(database), table_mappings, self.session(),
                                   {k: v for k, v in client_kwargs.items() if v is not None})
