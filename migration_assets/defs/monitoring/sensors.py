"""The run-failure sensor: every failed migration run is recorded on the run and reported.

When a run of a migration job fails (``full_migration``, ``schema_migration``, change capture,
verification, cutover or a rollback), ``migration_failure_sensor`` reads the failed step and the
failure's sentence (the ``dg.Failure`` description the tool sets, ``as_failure`` in
``defs/resources.py``) and:

* records them as tags of the failed run (``dbmigrate/failed_step``, ``dbmigrate/failure``,
  ``dbmigrate/alert``): the Runs list shows them next to the run and filters on them, and any
  later process finds failed runs through the instance (``RunsFilter(tags=...)``);
* reports it: one SNS message to ``DBMIGRATE_ALERT_SNS_TOPIC_ARN`` (the Terraform monitoring
  module's ``alarm_topic_arn``, whose e-mail and HTTPS subscribers also get the CloudWatch
  alarms), or, with the variable unset, only a line in the sensor's tick log.

Guarantee: a run is reported once. The sensor's cursor moves past each run, and a run that
already carries ``dbmigrate/alert`` is not published again (a daemon restarted between the
publish and the cursor update). Caveats: nothing touches AWS until a run fails with the topic
set; a publish that fails (no credentials, no permission) fails the tick with one sentence,
which Dagster also writes into the failed run's event log, and it is not retried (the cursor has
moved): the tags still record the failure.
"""

import os
from dataclasses import dataclass

import boto3
import dagster as dg
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from dagster_aws.utils import ResourceWithBoto3Configuration

from migration_assets.defs.cdc.assets import stop_change_capture
from migration_assets.defs.cutover.assets import cutover_job
from migration_assets.defs.full_load.assets import load_catalog
from migration_assets.defs.jobs import (
    full_migration_job,
    live_verification,
    schema_migration,
    start_change_capture,
)
from migration_assets.defs.rollback.jobs import rollback, rollback_before_cutover
from migration_assets.lib.errors import MigrationError

SENSOR_NAME = "migration_failure_sensor"
ALERT_TOPIC_ENV = "DBMIGRATE_ALERT_SNS_TOPIC_ARN"
FAILED_STEP_TAG = "dbmigrate/failed_step"
FAILURE_TAG = "dbmigrate/failure"
ALERT_TAG = "dbmigrate/alert"
#: SNS refuses a subject over 100 characters.
SUBJECT_MAX = 100


@dataclass(frozen=True)
class FailedRun:
    """What a person needs to act on a failed run, read from its events."""

    run_id: str
    job_name: str
    steps: tuple[str, ...]  # the failed steps, in order; empty when the run failed outside one
    sentence: str

    @property
    def step(self) -> str:
        return ", ".join(self.steps) or "-"

    def tags(self) -> dict[str, str]:
        return {FAILED_STEP_TAG: self.step, FAILURE_TAG: self.sentence}

    def subject(self) -> str:
        subject = f"dbmigrate: {self.job_name} failed"
        return subject[:SUBJECT_MAX]

    def message(self) -> str:
        return (f"Migration run failed: job {self.job_name}, run {self.run_id}, "
                f"step {self.step}.\n{self.sentence}\n")


def error_sentence(step_failure: dg.DagsterEvent) -> str:
    """The tool's sentence (a ``dg.Failure`` description); for anything else, the first line of
    the innermost error, with its class (a bug: the run's log has the stack)."""
    data = step_failure.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return one_line(data.user_failure_data.description)
    error = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    return one_line(error.message) if error is not None else step_failure.message or "step failed"


def one_line(text: str) -> str:
    return " ".join(text.split())


def describe(run: dg.DagsterRun, run_failure: dg.DagsterEvent,
             step_failures: list[dg.DagsterEvent]) -> FailedRun:
    """Pure: the failed run from its failure event and its step failures."""
    if step_failures:
        sentence = error_sentence(step_failures[0])
    else:  # a run that failed before or between steps (a resource, the launcher, a crash)
        data = run_failure.job_failure_data
        error = data.error if data is not None else None
        sentence = one_line(error.message if error is not None else run_failure.message or "run failed")
    steps = tuple(dict.fromkeys(e.step_key for e in step_failures if e.step_key))
    return FailedRun(run_id=run.run_id, job_name=run.job_name, steps=steps, sentence=sentence)


class SnsAlertsResource(ResourceWithBoto3Configuration):
    """Where failed runs are reported: an SNS topic, or nowhere but the log (``topic_arn`` unset).

    Region, endpoint (a VPC endpoint; a moto server in tests), profile and retries are the
    dagster-aws settings; the region is the topic's own, from its ARN.
    """

    topic_arn: str | None = None

    def publish(self, failed: FailedRun) -> str:
        """Publish one message; returns its SNS message id. Called only with a topic set."""
        arn = (self.topic_arn or "").split(":")
        # A topic is published to in its own region (arn:aws:sns:REGION:ACCOUNT:NAME).
        region = arn[3] if len(arn) == 6 and arn[3] else self.region_name
        kwargs = {"endpoint_url": self.endpoint_url, "use_ssl": self.use_ssl, "verify": self.verify}
        try:
            session = boto3.session.Session(
                region_name=region, profile_name=self.profile_name,
                aws_access_key_id=self.aws_access_key_id,
                aws_secret_access_key=self.aws_secret_access_key,
                aws_session_token=self.aws_session_token)
            sns = session.client("sns", config=Config(retries={"max_attempts": self.max_attempts,
                                                               "mode": "standard"}),
                                 **{k: v for k, v in kwargs.items() if v is not None})
            reply = sns.publish(TopicArn=self.topic_arn, Subject=failed.subject(),
                                Message=failed.message())
        except (BotoCoreError, ClientError) as exc:
            raise MigrationError(f"could not report the failed run {failed.run_id} of "
                                 f"{failed.job_name} to SNS topic {self.topic_arn}: {exc}") from None
        return str(reply["MessageId"])


def alerts_resource() -> SnsAlertsResource:
    """From the environment at load; unset means log only, so the sensor can run by default."""
    return SnsAlertsResource(
        topic_arn=dg.EnvVar(ALERT_TOPIC_ENV) if os.environ.get(ALERT_TOPIC_ENV) else None)


def report(context: dg.RunFailureSensorContext, alerts: SnsAlertsResource) -> FailedRun:
    """Record the failure on the run, then report it once."""
    run = context.dagster_run
    failed = describe(run, context.failure_event, list(context.get_step_failure_events()))
    context.log.info(f"run {failed.run_id} of {failed.job_name} failed at step {failed.step}: "
                     f"{failed.sentence}")
    already = (context.instance.get_run_by_id(run.run_id) or run).tags.get(ALERT_TAG)
    # Tags are recorded first, so a publish that fails still leaves the failure on the run.
    context.instance.add_run_tags(run.run_id, failed.tags())
    if already:
        context.log.info(f"already reported ({already})")
    elif alerts.topic_arn:
        message_id = alerts.publish(failed)
        context.instance.add_run_tags(run.run_id, {ALERT_TAG: f"sns {message_id}"})
        context.log.info(f"reported to {alerts.topic_arn} (message {message_id})")
    else:
        context.instance.add_run_tags(run.run_id, {ALERT_TAG: "log only"})
        context.log.info(f"not sent: {ALERT_TOPIC_ENV} is unset")
    return failed


def failure_sensor(monitored_jobs: list) -> dg.SensorDefinition:
    """The sensor over ``monitored_jobs`` (matched by name in this code location)."""

    @dg.run_failure_sensor(
        name=SENSOR_NAME,
        monitored_jobs=monitored_jobs,
        minimum_interval_seconds=30,
        # Safe to run by default: without the topic it only tags the run and logs.
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records each failed migration run (failed step and sentence as run tags) "
                    f"and reports it to the SNS topic in {ALERT_TOPIC_ENV} (unset: log only).",
    )
    def migration_failure_sensor(context: dg.RunFailureSensorContext,
                                 alerts: SnsAlertsResource) -> None:
        report(context, alerts)

    return migration_failure_sensor


def migration_jobs() -> list:
    return [full_migration_job(load_catalog().partition_keys), schema_migration,
            start_change_capture, live_verification, stop_change_capture, cutover_job,
            rollback_before_cutover, rollback]


@dg.definitions
def definitions() -> dg.Definitions:
    return dg.Definitions(sensors=[failure_sensor(migration_jobs())],
                          resources={"alerts": alerts_resource()})
