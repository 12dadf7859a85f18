mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:111122223333:mig-test-migration-alarms" }
  }
}

variables {
  name             = "mig-test"
  aurora_instances = { writer = "mig-test-writer", reader-1 = "mig-test-reader-1" }
  dms_tasks = {
    cdc = {
      replication_instance_id = "mig-test"
      task_arn                = "arn:aws:dms:eu-west-1:111122223333:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    }
  }
  dms_replication_instances = { instance = "mig-test" }
}

run "every_alarm_watches_the_right_metric" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["dms-cdc-source-latency", "dms-cdc-target-latency", "dms-instance-cpu", "dms-instance-freeable-memory", "dms-instance-free-storage", "aurora-writer-cpu", "aurora-writer-free-local-storage", "aurora-writer-connections", "aurora-writer-replica-lag", "aurora-reader-1-cpu", "aurora-reader-1-free-local-storage", "aurora-reader-1-connections", "aurora-reader-1-replica-lag"])
    error_message = "two CDC latency alarms per task, three alarms per replication instance and four per Aurora instance"
  }
  assert {
    condition     = alltrue([for k in ["dms-instance-cpu", "dms-instance-freeable-memory", "dms-instance-free-storage"] : aws_cloudwatch_metric_alarm.this[k].namespace == "AWS/DMS" && aws_cloudwatch_metric_alarm.this[k].dimensions == tomap({ ReplicationInstanceIdentifier = "mig-test" })])
    error_message = "replication instance metrics are keyed by the instance identifier alone"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-instance-cpu"].metric_name == "CPUUtilization" && aws_cloudwatch_metric_alarm.this["dms-instance-cpu"].threshold == 85 && aws_cloudwatch_metric_alarm.this["dms-instance-cpu"].comparison_operator == "GreaterThanThreshold"
    error_message = "replication instance CPU above 85 % by default"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-instance-freeable-memory"].metric_name == "FreeableMemory" && aws_cloudwatch_metric_alarm.this["dms-instance-freeable-memory"].threshold == 256 * 1048576 && aws_cloudwatch_metric_alarm.this["dms-instance-freeable-memory"].comparison_operator == "LessThanThreshold"
    error_message = "replication instance freeable memory below 256 MiB, in bytes"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-instance-free-storage"].metric_name == "FreeStorageSpace" && aws_cloudwatch_metric_alarm.this["dms-instance-free-storage"].threshold == 10 * 1073741824 && aws_cloudwatch_metric_alarm.this["dms-instance-free-storage"].comparison_operator == "LessThanThreshold"
    error_message = "replication instance free storage below 10 GiB, in bytes"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-cdc-source-latency"].metric_name == "CDCLatencySource" && aws_cloudwatch_metric_alarm.this["dms-cdc-target-latency"].metric_name == "CDCLatencyTarget" && aws_cloudwatch_metric_alarm.this["dms-cdc-source-latency"].namespace == "AWS/DMS"
    error_message = "CDC latency on both sides, in the DMS namespace"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-cdc-target-latency"].dimensions == tomap({ ReplicationInstanceIdentifier = "mig-test", ReplicationTaskIdentifier = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" })
    error_message = "DMS task metrics are keyed by the instance name and the task's resource ID (the end of its ARN)"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-cdc-source-latency"].threshold == 60 && aws_cloudwatch_metric_alarm.this["dms-cdc-source-latency"].comparison_operator == "GreaterThanThreshold"
    error_message = "CDC latency alarms above 60 s by default"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["aurora-reader-1-replica-lag"].metric_name == "AuroraReplicaLag" && aws_cloudwatch_metric_alarm.this["aurora-reader-1-replica-lag"].dimensions == tomap({ DBInstanceIdentifier = "mig-test-reader-1" }) && aws_cloudwatch_metric_alarm.this["aurora-reader-1-replica-lag"].threshold == 2000
    error_message = "replica lag per instance, in milliseconds"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["aurora-writer-replica-lag"].treat_missing_data == "notBreaching"
    error_message = "the writer reports no replica lag: missing data must not fire"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["aurora-writer-cpu"].metric_name == "CPUUtilization" && aws_cloudwatch_metric_alarm.this["aurora-writer-cpu"].threshold == 80 && aws_cloudwatch_metric_alarm.this["aurora-writer-cpu"].dimensions == tomap({ DBInstanceIdentifier = "mig-test-writer" })
    error_message = "CPU per instance above 80% by default"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["aurora-writer-free-local-storage"].metric_name == "FreeLocalStorage" && aws_cloudwatch_metric_alarm.this["aurora-writer-free-local-storage"].threshold == 2 * 1073741824 && aws_cloudwatch_metric_alarm.this["aurora-writer-free-local-storage"].comparison_operator == "LessThanThreshold"
    error_message = "free local storage below 2 GiB, in bytes"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["aurora-reader-1-connections"].metric_name == "DatabaseConnections" && aws_cloudwatch_metric_alarm.this["aurora-reader-1-connections"].threshold == 800
    error_message = "connections above 800 by default"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.evaluation_periods == 5 && a.datapoints_to_alarm == 5 && a.period == 60])
    error_message = "five breaching minutes out of five"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["aurora-writer-cpu"].alarm_name == "mig-test-aurora-writer-cpu" && contains(output.alarm_names, "mig-test-dms-cdc-source-latency")
    error_message = "alarm names start with the module's name and are all in the output"
  }
}

run "alarms_and_failures_reach_an_encrypted_topic" {
  command = apply # against the mock provider: resolves the topic and key ARNs

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset([aws_sns_topic.this.arn]) && a.ok_actions == toset([aws_sns_topic.this.arn])])
    error_message = "every alarm notifies the topic when it fires and when it clears"
  }
  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == aws_kms_key.this[0].arn && aws_kms_key.this[0].enable_key_rotation
    error_message = "the topic is encrypted with a rotating customer key"
  }
  assert {
    condition     = output.topic_arn == aws_sns_topic.this.arn
    error_message = "the topic ARN is an output"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.dms_task_failed[0].event_pattern) == { source = ["aws.dms"], "detail-type" = ["DMS Replication Task State Change"], resources = ["arn:aws:dms:eu-west-1:111122223333:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ"], detail = { eventType = ["REPLICATION_TASK_FAILED"] } }
    error_message = "a failed state change of the watched task, and only of it"
  }
  assert {
    condition     = aws_cloudwatch_event_target.dms_task_failed[0].arn == aws_sns_topic.this.arn
    error_message = "the failure rule notifies the topic"
  }
  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0 && length(aws_sns_topic_subscription.https) == 0
    error_message = "no subscriptions unless asked"
  }
}

run "subscriptions_and_an_existing_key" {
  command = plan
  variables {
    email_endpoints = ["dba@example.com", "oncall@example.com"]
    https_endpoint  = "https://hooks.example.com/sns"
    kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/99999999-2222-3333-4444-555555555555"
    thresholds      = { cdc_latency_seconds = 300, cpu_percent = 90, dms_free_storage_gib = 25 }
  }
  assert {
    condition     = toset([for s in aws_sns_topic_subscription.email : s.endpoint]) == toset(["dba@example.com", "oncall@example.com"]) && aws_sns_topic_subscription.https[0].protocol == "https"
    error_message = "each e-mail address and the HTTPS endpoint are subscribed"
  }
  assert {
    condition     = length(aws_kms_key.this) == 0 && aws_sns_topic.this.kms_master_key_id == var.kms_key_arn
    error_message = "a given key is used, none created"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["dms-cdc-target-latency"].threshold == 300 && aws_cloudwatch_metric_alarm.this["aurora-writer-cpu"].threshold == 90 && aws_cloudwatch_metric_alarm.this["aurora-writer-connections"].threshold == 800 && aws_cloudwatch_metric_alarm.this["dms-instance-free-storage"].threshold == 25 * 1073741824 && aws_cloudwatch_metric_alarm.this["dms-instance-cpu"].threshold == 85
    error_message = "thresholds given override their defaults, the others keep theirs"
  }
}

run "without_dms_there_is_no_failure_rule" {
  command = plan
  variables {
    dms_tasks                 = {}
    dms_replication_instances = {}
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.dms_task_failed) == 0 && length([for k, _ in aws_cloudwatch_metric_alarm.this : k if startswith(k, "dms-")]) == 0
    error_message = "no DMS alarms and no rule without DMS tasks"
  }
}

run "a_task_name_instead_of_its_arn_is_refused" {
  command = plan
  variables {
    dms_tasks = { cdc = { replication_instance_id = "mig-test", task_arn = "mig-test-cdc" } }
  }
  expect_failures = [var.dms_tasks]
}

run "a_replication_instance_arn_instead_of_its_identifier_is_refused" {
  command = plan
  variables {
    dms_replication_instances = { instance = "arn:aws:dms:eu-west-1:111122223333:rep:ABCDEFGHIJKLMNOP" }
  }
  expect_failures = [var.dms_replication_instances]
}

run "a_dms_cpu_threshold_above_100_percent_is_refused" {
  command = plan
  variables {
    thresholds = { dms_cpu_percent = 101 }
  }
  expect_failures = [var.thresholds]
}

run "a_cpu_threshold_above_100_percent_is_refused" {
  command = plan
  variables {
    thresholds = { cpu_percent = 150 }
  }
  expect_failures = [var.thresholds]
}

run "a_negative_latency_threshold_is_refused" {
  command = plan
  variables {
    thresholds = { cdc_latency_seconds = -1 }
  }
  expect_failures = [var.thresholds]
}

run "a_malformed_email_is_refused" {
  command = plan
  variables {
    email_endpoints = ["not-an-address"]
  }
  expect_failures = [var.email_endpoints]
}

run "a_plain_http_endpoint_is_refused" {
  command = plan
  variables {
    https_endpoint = "http://hooks.example.com/sns"
  }
  expect_failures = [var.https_endpoint]
}

run "a_fractional_evaluation_window_is_refused" {
  command = plan
  variables {
    evaluation_minutes = 2.5
  }
  expect_failures = [var.evaluation_minutes]
}
