"""The run-failure sensor: a real failed run, executed in-process on a temporary instance, is
recorded on the run (failed step, the tool's sentence) and reported once to SNS through a moto
server (real HTTP, read back through an SQS subscription), or only logged when no topic is set."""

import json

import boto3
import dagster as dg
import pytest

from migration_assets.definitions import defs as load_defs
from migration_assets.defs.monitoring.sensors import (
    ALERT_TAG,
    ALERT_TOPIC_ENV,
    FAILED_STEP_TAG,
    FAILURE_TAG,
    SENSOR_NAME,
    SnsAlertsResource,
    alerts_resource,
    failure_sensor,
)
from migration_assets.defs.resources import as_failure
from migration_assets.lib.errors import MigrationError

REGION = "eu-west-1"
SENTENCE = "access denied for user 'dbmigrate' on target 10.0.0.5:3306."


def failing_job(name: str, sentence: str = SENTENCE) -> dg.JobDefinition:
    """A job named like a migration job whose one step fails the way the tool's steps do."""

    @dg.op(name="apply_migrations")
    def apply_migrations() -> None:
        raise as_failure(MigrationError(sentence))

    @dg.job(name=name)
    def job() -> None:
        apply_migrations()

    return job


def failed_run(instance: dg.DagsterInstance, name: str = "schema_migration",
               sentence: str = SENTENCE) -> dg.ExecuteInProcessResult:
    result = failing_job(name, sentence).execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result


def evaluate(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance,
             alerts: SnsAlertsResource) -> None:
    """The sensor's function on this run, as the daemon calls it."""
    context = dg.build_run_status_sensor_context(
        sensor_name=SENSOR_NAME, dagster_event=result.get_run_failure_event(),
        dagster_instance=instance, dagster_run=result.dagster_run, resources={"alerts": alerts})
    failure_sensor([])(context)


def tags_of(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return dict(run.tags)


def test_the_failed_step_and_sentence_are_recorded_on_the_run() -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = failed_run(instance)
    evaluate(result, instance, SnsAlertsResource())
    tags = tags_of(instance, result.run_id)
    assert tags[FAILED_STEP_TAG] == "apply_migrations"
    assert tags[FAILURE_TAG] == SENTENCE
    assert tags[ALERT_TAG] == "log only"


MIGRATION_JOBS = ["cutover", "full_migration", "live_verification", "rollback",
                  "rollback_before_cutover", "schema_migration", "start_change_capture",
                  "stop_change_capture"]


def test_only_migration_jobs_are_reported_by_the_code_locations_sensor(monkeypatch) -> None:
    """Through the sensor's own ticks (the daemon's path): the code location's sensor records the
    failed runs of every migration job, and of no other job."""
    monkeypatch.delenv("DBMIGRATE_CATALOG", raising=False)
    monkeypatch.delenv(ALERT_TOPIC_ENV, raising=False)
    sensor = load_defs().resolve_sensor_def(SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance, resources={"alerts": alerts_resource()})
    sensor.evaluate_tick(context)  # the first tick starts after the latest run status
    other = failed_run(instance, "nightly_export")
    ours = {name: failed_run(instance, name, f"{name} stopped: the target is read-only.")
            for name in MIGRATION_JOBS}
    for _ in range(3):  # a tick handles at most 5 runs
        context = dg.build_sensor_context(instance=instance, cursor=context.cursor,
                                          resources={"alerts": alerts_resource()})
        sensor.evaluate_tick(context)
    assert FAILURE_TAG not in tags_of(instance, other.run_id)
    for name, result in ours.items():
        assert tags_of(instance, result.run_id)[FAILURE_TAG] == \
            f"{name} stopped: the target is read-only.", name


@pytest.fixture
def aws(moto_url, monkeypatch):
    """AWS as a user's shell has it, pointed at the moto server; a topic with an SQS
    subscription to read what was published."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION), ("AWS_ENDPOINT_URL", moto_url)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    sns = boto3.client("sns", region_name=REGION, endpoint_url=moto_url)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_url)
    topic = sns.create_topic(Name="dbmigrate-alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="alarm-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    yield topic, lambda: received(sqs, queue)
    sns.delete_topic(TopicArn=topic)
    sqs.delete_queue(QueueUrl=queue)


def received(sqs, queue: str) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_failed_run_is_published_once_to_the_topic(aws, monkeypatch) -> None:
    topic, read = aws
    monkeypatch.setenv(ALERT_TOPIC_ENV, topic)
    instance = dg.DagsterInstance.ephemeral()
    result = failed_run(instance, "full_migration")
    evaluate(result, instance, alerts_resource())
    (message,) = read()
    assert message["Subject"] == "dbmigrate: full_migration failed"
    assert message["Message"] == (f"Migration run failed: job full_migration, run {result.run_id}, "
                                  f"step apply_migrations.\n{SENTENCE}\n")
    assert tags_of(instance, result.run_id)[ALERT_TAG] == f"sns {message['MessageId']}"
    # A second evaluation of the same run (a daemon restarted before its cursor moved).
    evaluate(result, instance, alerts_resource())
    assert read() == []


def test_nothing_is_published_without_the_topic(aws, monkeypatch) -> None:
    _topic, read = aws
    monkeypatch.delenv(ALERT_TOPIC_ENV, raising=False)
    alerts = alerts_resource()
    assert alerts.topic_arn is None
    instance = dg.DagsterInstance.ephemeral()
    result = failed_run(instance)
    evaluate(result, instance, alerts)
    assert read() == []
    assert tags_of(instance, result.run_id)[ALERT_TAG] == "log only"


def test_a_publish_that_fails_says_so_and_the_run_keeps_its_record(aws, monkeypatch) -> None:
    topic, read = aws
    monkeypatch.setenv(ALERT_TOPIC_ENV, topic.replace("dbmigrate-alarms", "deleted-topic"))
    instance = dg.DagsterInstance.ephemeral()
    result = failed_run(instance)
    with pytest.raises(MigrationError, match=f"could not report the failed run {result.run_id} "
                                             "of schema_migration to SNS topic .*deleted-topic"):
        evaluate(result, instance, alerts_resource())
    tags = tags_of(instance, result.run_id)
    assert tags[FAILURE_TAG] == SENTENCE and ALERT_TAG not in tags
    assert read() == []
