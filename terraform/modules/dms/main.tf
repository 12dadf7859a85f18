################################################################################
# DMS: a private replication instance, TLS (verify-full) endpoints whose
# credentials come from Secrets Manager, and a CDC-only task whose
# mappings are generated from the same table catalog the Python side uses.
################################################################################

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = var.name
  replication_subnet_group_description = "Private subnets of ${var.name}"
  subnet_ids                           = var.subnet_ids
  tags                                 = var.tags
}

resource "aws_dms_replication_instance" "this" {
  replication_instance_id     = var.name
  replication_instance_class  = var.instance_class
  allocated_storage           = var.allocated_storage
  engine_version              = var.engine_version
  multi_az                    = var.multi_az
  publicly_accessible         = false
  auto_minor_version_upgrade  = true
  kms_key_arn                 = var.kms_key_arn
  replication_subnet_group_id = aws_dms_replication_subnet_group.this.id
  vpc_security_group_ids      = var.security_group_ids

  tags = var.tags
}

################################################################################
# Endpoints
################################################################################

resource "aws_dms_certificate" "source" {
  certificate_id  = "${var.name}-source-ca"
  certificate_pem = var.source_endpoint.ca_pem
  tags            = var.tags
}

resource "aws_dms_certificate" "target" {
  certificate_id  = "${var.name}-target-ca"
  certificate_pem = var.target_endpoint.ca_pem
  tags            = var.tags
}

resource "aws_dms_endpoint" "source" {
  endpoint_id                     = "${var.name}-source"
  endpoint_type                   = "source"
  engine_name                     = "mysql"
  ssl_mode                        = "verify-full"
  certificate_arn                 = aws_dms_certificate.source.certificate_arn
  secrets_manager_arn             = var.source_endpoint.secret_arn
  secrets_manager_access_role_arn = var.secrets_access_role_arn
  kms_key_arn                     = var.kms_key_arn

  tags = var.tags
}

resource "aws_dms_endpoint" "target" {
  endpoint_id                     = "${var.name}-target"
  endpoint_type                   = "target"
  engine_name                     = "aurora"
  ssl_mode                        = "verify-full"
  certificate_arn                 = aws_dms_certificate.target.certificate_arn
  database_name                   = var.target_endpoint.database_name
  secrets_manager_arn             = var.target_endpoint.secret_arn
  secrets_manager_access_role_arn = var.secrets_access_role_arn
  kms_key_arn                     = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Task
################################################################################

resource "aws_dms_replication_task" "this" {
  # Changes only: the Dagster full load copies the rows from one snapshot, and
  # `dbmigrate cdc start` (or the start_change_capture job) starts this task with
  # start-replication at that snapshot's binlog position (CdcStartPosition). A
  # full-load-and-cdc task would copy every table a second time on top of the load.
  replication_task_id       = "${var.name}-cdc"
  migration_type            = "cdc"
  replication_instance_arn  = aws_dms_replication_instance.this.replication_instance_arn
  source_endpoint_arn       = aws_dms_endpoint.source.endpoint_arn
  target_endpoint_arn       = aws_dms_endpoint.target.endpoint_arn
  table_mappings            = var.table_mappings_json
  replication_task_settings = var.task_settings_json
  start_replication_task    = false # started at the snapshot position by the code location, never by an apply

  lifecycle {
    # The start position is the run's, set when the task is started, not infrastructure.
    ignore_changes = [cdc_start_position, cdc_start_time]
  }

  tags = var.tags
}

################################################################################
# Alarms
################################################################################

locals {
  gib = 1073741824
  mib = 1048576

  # AWS/DMS task metrics are keyed by the instance's identifier (the name given to it) and the
  # task's *resource ID*, the end of its ARN (arn:aws:dms:<region>:<account>:task:<id>), not
  # the replication_task_id given to it: with the name the alarms would never see a data point.
  task_dimensions = {
    ReplicationInstanceIdentifier = aws_dms_replication_instance.this.replication_instance_id
    ReplicationTaskIdentifier     = regex("[^:]+$", aws_dms_replication_task.this.replication_task_arn)
  }
  instance_dimensions = {
    ReplicationInstanceIdentifier = aws_dms_replication_instance.this.replication_instance_id
  }
  # A stopped task reports no latency: that is not a breach (the task's state is watched elsewhere).
  alarms = !var.create_alarms ? {} : {
    cdc-latency-source = { metric = "CDCLatencySource", statistic = "Maximum", threshold = var.cdc_latency_alarm_seconds, op = "GreaterThanThreshold", dims = local.task_dimensions, missing = "notBreaching", text = "CDC latency reading the source (s)" }
    cdc-latency-target = { metric = "CDCLatencyTarget", statistic = "Maximum", threshold = var.cdc_latency_alarm_seconds, op = "GreaterThanThreshold", dims = local.task_dimensions, missing = "notBreaching", text = "CDC latency applying to Aurora (s)" }
    cpu                = { metric = "CPUUtilization", statistic = "Average", threshold = var.instance_alarm_thresholds.cpu_percent, op = "GreaterThanThreshold", dims = local.instance_dimensions, missing = "missing", text = "replication instance CPU (%)" }
    memory             = { metric = "FreeableMemory", statistic = "Minimum", threshold = var.instance_alarm_thresholds.freeable_memory_mib * local.mib, op = "LessThanThreshold", dims = local.instance_dimensions, missing = "missing", text = "replication instance freeable memory (bytes)" }
    storage            = { metric = "FreeStorageSpace", statistic = "Minimum", threshold = var.instance_alarm_thresholds.free_storage_gib * local.gib, op = "LessThanThreshold", dims = local.instance_dimensions, missing = "missing", text = "replication instance free storage (bytes)" }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-dms-${each.key}"
  alarm_description   = "DMS ${each.value.text} crossed ${each.value.threshold}"
  namespace           = "AWS/DMS"
  metric_name         = each.value.metric
  dimensions          = each.value.dims
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = 5
  threshold           = each.value.threshold
  comparison_operator = each.value.op
  treat_missing_data  = each.value.missing
  alarm_actions       = compact([var.alarm_topic_arn])
  ok_actions          = compact([var.alarm_topic_arn])

  tags = var.tags
}
