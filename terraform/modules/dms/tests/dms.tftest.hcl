mock_provider "aws" {
  # Valid ARNs for the attributes the provider checks when a run applies.
  mock_resource "aws_dms_certificate" {
    defaults = { certificate_arn = "arn:aws:dms:eu-west-1:111122223333:cert:CERTIFICATEID" }
  }
  mock_resource "aws_dms_replication_instance" {
    defaults = { replication_instance_arn = "arn:aws:dms:eu-west-1:111122223333:rep:INSTANCEID" }
  }
  mock_resource "aws_dms_endpoint" {
    defaults = { endpoint_arn = "arn:aws:dms:eu-west-1:111122223333:endpoint:ENDPOINTID" }
  }
}

variables {
  name                    = "mig-test"
  subnet_ids              = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  security_group_ids      = ["sg-0aaaaaaaaaaaaaaaa"]
  kms_key_arn             = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  secrets_access_role_arn = "arn:aws:iam::111122223333:role/dms-secrets"
  alarm_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:alarms"
  source_endpoint = {
    secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:source-AbCdEf"
    ca_pem     = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  }
  target_endpoint = {
    database_name = "shop"
    secret_arn    = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:target-AbCdEf"
    ca_pem        = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  }
  table_mappings_json = "{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\", \"rule-name\": \"all\", \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"%\"}, \"rule-action\": \"include\"}]}"
  task_settings_json  = "{\"ValidationSettings\": {\"EnableValidation\": true}}"
}

run "private_encrypted_tls_everywhere" {
  command = plan

  assert {
    condition     = !aws_dms_replication_instance.this.publicly_accessible && aws_dms_replication_instance.this.kms_key_arn == var.kms_key_arn
    error_message = "the replication instance is private and encrypted"
  }
  assert {
    condition     = aws_dms_endpoint.source.ssl_mode == "verify-full" && aws_dms_endpoint.target.ssl_mode == "verify-full"
    error_message = "both endpoints verify the server certificate"
  }
  assert {
    condition     = aws_dms_endpoint.source.secrets_manager_arn == var.source_endpoint.secret_arn && aws_dms_endpoint.source.password == null
    error_message = "credentials come from Secrets Manager, never from variables"
  }
  assert {
    condition     = aws_dms_endpoint.target.engine_name == "aurora" && aws_dms_endpoint.source.engine_name == "mysql"
    error_message = "MySQL to Aurora"
  }
  assert {
    condition     = aws_dms_replication_task.this.migration_type == "cdc" && !aws_dms_replication_task.this.start_replication_task
    error_message = "a CDC-only task (the full load is Dagster's) that an apply does not start"
  }
  assert {
    condition     = toset([for a in aws_cloudwatch_metric_alarm.this : a.metric_name]) == toset(["CDCLatencySource", "CDCLatencyTarget", "CPUUtilization", "FreeableMemory", "FreeStorageSpace"])
    error_message = "CDC latency and instance (CPU, memory, storage) alarms exist"
  }
  assert {
    condition     = aws_dms_replication_instance.this.multi_az
    error_message = "Multi-AZ by default"
  }
}

run "task_alarms_are_keyed_by_the_task_resource_id_not_its_name" {
  command = apply # against the mock provider: the task ARN is known after apply

  override_resource {
    target = aws_dms_replication_task.this
    values = { replication_task_arn = "arn:aws:dms:eu-west-1:111122223333:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ" }
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["cdc-latency-source"].dimensions == tomap({ ReplicationInstanceIdentifier = "mig-test", ReplicationTaskIdentifier = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" }) && aws_cloudwatch_metric_alarm.this["cdc-latency-target"].dimensions == aws_cloudwatch_metric_alarm.this["cdc-latency-source"].dimensions
    error_message = "AWS/DMS task metrics are keyed by the instance identifier and the task's resource ID (the end of its ARN), not the task name mig-test-cdc"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["cdc-latency-source"].treat_missing_data == "notBreaching"
    error_message = "a stopped task (no latency data) is not a latency breach"
  }
  assert {
    condition     = alltrue([for k in ["cpu", "memory", "storage"] : aws_cloudwatch_metric_alarm.this[k].dimensions == tomap({ ReplicationInstanceIdentifier = "mig-test" })])
    error_message = "instance metrics are keyed by the instance identifier alone"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["storage"].metric_name == "FreeStorageSpace" && aws_cloudwatch_metric_alarm.this["storage"].threshold == 10 * 1073741824 && aws_cloudwatch_metric_alarm.this["storage"].comparison_operator == "LessThanThreshold"
    error_message = "free storage below 10 GiB, in bytes"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["memory"].threshold == 256 * 1048576 && aws_cloudwatch_metric_alarm.this["cpu"].threshold == 85
    error_message = "freeable memory below 256 MiB and CPU above 85 % by default"
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset([var.alarm_topic_arn]) && a.ok_actions == toset([var.alarm_topic_arn])])
    error_message = "every alarm notifies the topic when it fires and when it clears"
  }
}

run "instance_thresholds_can_be_set" {
  command = plan
  variables {
    instance_alarm_thresholds = { free_storage_gib = 20 }
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["storage"].threshold == 20 * 1073741824 && aws_cloudwatch_metric_alarm.this["cpu"].threshold == 85
    error_message = "a threshold given overrides its default, the others keep theirs"
  }
}

run "no_alarms_when_told_not_to" {
  command = plan
  variables {
    create_alarms = false
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "create_alarms = false creates none (the monitoring module watches instead)"
  }
}

run "a_cpu_threshold_above_100_percent_is_refused" {
  command = plan
  variables {
    instance_alarm_thresholds = { cpu_percent = 120 }
  }
  expect_failures = [var.instance_alarm_thresholds]
}

run "a_certificate_that_is_not_pem_is_refused" {
  command = plan
  variables {
    source_endpoint = {
      secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:source-AbCdEf"
      ca_pem     = "not a certificate"
    }
  }
  expect_failures = [var.source_endpoint]
}

run "mappings_without_rules_are_refused" {
  command = plan
  variables {
    table_mappings_json = "{}"
  }
  expect_failures = [var.table_mappings_json]
}

run "a_non_dms_instance_class_is_refused" {
  command = plan
  variables {
    instance_class = "db.r6g.large"
  }
  expect_failures = [var.instance_class]
}
