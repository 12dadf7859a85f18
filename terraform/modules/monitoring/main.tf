################################################################################
# Monitoring: one encrypted SNS topic, CloudWatch alarms on the DMS change stream,
# the DMS replication instances and the Aurora instances, and an EventBridge rule that reports a failed DMS task.
# An alarm notifies both when it fires and when it clears.
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

################################################################################
# KMS key of the topic (unless one is given)
################################################################################

data "aws_iam_policy_document" "kms" {
  count = var.kms_key_arn == null ? 1 : 0

  #checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; write access is limited to this account and to services acting for it.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource means this key only.
  #checkov:skip=CKV_AWS_109:The account root must administer the key (AWS's default key policy), or the key becomes unmanageable.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch alarms and EventBridge publish to an encrypted topic only when the key lets
  # them make data keys; without this statement their notifications are silently dropped.
  statement {
    sid       = "AlarmSourcesPublishToTheTopic"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  description             = "${var.name}: migration alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Topic and subscriptions
################################################################################

resource "aws_sns_topic" "this" {
  name              = "${var.name}-migration-alarms"
  kms_master_key_id = var.kms_key_arn == null ? aws_kms_key.this[0].arn : var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"]
    }
  }

  dynamic "statement" {
    for_each = aws_cloudwatch_event_rule.dms_task_failed
    content {
      sid       = "EventBridgePublishesDmsTaskFailures"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.this.arn]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [statement.value.arn]
      }
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.email_endpoints)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "https" {
  count = var.https_endpoint == null ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "https"
  endpoint  = var.https_endpoint
}

################################################################################
# Alarms
################################################################################

locals {
  gib = 1073741824
  mib = 1048576

  # CloudWatch names a task by the resource ID that ends its ARN, not by the task's name.
  dms_alarms = merge([for key, task in var.dms_tasks : {
    for side, metric in { source = "CDCLatencySource", target = "CDCLatencyTarget" } :
    "dms-${key}-${side}-latency" => {
      namespace = "AWS/DMS"
      metric    = metric
      statistic = "Maximum"
      dimensions = {
        ReplicationInstanceIdentifier = task.replication_instance_id
        ReplicationTaskIdentifier     = regex("[^:]+$", task.task_arn)
      }
      threshold = var.thresholds.cdc_latency_seconds
      operator  = "GreaterThanThreshold"
      # A stopped task reports nothing: that is the failure rule's business, not a latency.
      missing = "notBreaching"
      text    = "DMS task ${key}: CDC latency ${side == "source" ? "reading the on-premises binlog" : "applying to Aurora"} above ${var.thresholds.cdc_latency_seconds} s"
    }
  }]...)

  # The replication instance holds the changes while the target lags: out of memory it swaps and
  # slows, out of storage the task fails. Keyed by the identifier given to the instance.
  dms_instance_alarms = merge([for key, instance in var.dms_replication_instances : {
    "dms-${key}-cpu" = {
      namespace  = "AWS/DMS", metric = "CPUUtilization", statistic = "Average"
      dimensions = { ReplicationInstanceIdentifier = instance }
      threshold  = var.thresholds.dms_cpu_percent, operator = "GreaterThanThreshold", missing = "missing"
      text       = "DMS replication instance ${key}: CPU above ${var.thresholds.dms_cpu_percent}%"
    }
    "dms-${key}-freeable-memory" = {
      namespace  = "AWS/DMS", metric = "FreeableMemory", statistic = "Minimum"
      dimensions = { ReplicationInstanceIdentifier = instance }
      threshold  = var.thresholds.dms_freeable_memory_mib * local.mib, operator = "LessThanThreshold", missing = "missing"
      text       = "DMS replication instance ${key}: freeable memory below ${var.thresholds.dms_freeable_memory_mib} MiB"
    }
    "dms-${key}-free-storage" = {
      namespace  = "AWS/DMS", metric = "FreeStorageSpace", statistic = "Minimum"
      dimensions = { ReplicationInstanceIdentifier = instance }
      threshold  = var.thresholds.dms_free_storage_gib * local.gib, operator = "LessThanThreshold", missing = "missing"
      text       = "DMS replication instance ${key}: free storage below ${var.thresholds.dms_free_storage_gib} GiB (cached changes, task logs)"
    }
  }]...)

  aurora_alarms = merge([for key, instance in var.aurora_instances : {
    "aurora-${key}-cpu" = {
      namespace  = "AWS/RDS", metric = "CPUUtilization", statistic = "Average"
      dimensions = { DBInstanceIdentifier = instance }
      threshold  = var.thresholds.cpu_percent, operator = "GreaterThanThreshold", missing = "missing"
      text       = "Aurora ${key}: CPU above ${var.thresholds.cpu_percent}%"
    }
    "aurora-${key}-free-local-storage" = {
      namespace  = "AWS/RDS", metric = "FreeLocalStorage", statistic = "Minimum"
      dimensions = { DBInstanceIdentifier = instance }
      threshold  = var.thresholds.free_local_storage_gib * local.gib, operator = "LessThanThreshold", missing = "missing"
      text       = "Aurora ${key}: free local (temporary) storage below ${var.thresholds.free_local_storage_gib} GiB"
    }
    "aurora-${key}-connections" = {
      namespace  = "AWS/RDS", metric = "DatabaseConnections", statistic = "Maximum"
      dimensions = { DBInstanceIdentifier = instance }
      threshold  = var.thresholds.connections, operator = "GreaterThanThreshold", missing = "missing"
      text       = "Aurora ${key}: more than ${var.thresholds.connections} connections"
    }
    # Only readers report replica lag; every instance gets the alarm so that it still
    # covers the readers after a failover swaps the roles (the writer's is missing data).
    "aurora-${key}-replica-lag" = {
      namespace  = "AWS/RDS", metric = "AuroraReplicaLag", statistic = "Maximum"
      dimensions = { DBInstanceIdentifier = instance }
      threshold  = var.thresholds.replica_lag_ms, operator = "GreaterThanThreshold", missing = "notBreaching"
      text       = "Aurora ${key}: replica lag above ${var.thresholds.replica_lag_ms} ms"
    }
  }]...)

  alarms = merge(local.dms_alarms, local.dms_instance_alarms, local.aurora_alarms)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.text
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = var.evaluation_minutes
  datapoints_to_alarm = var.evaluation_minutes
  threshold           = each.value.threshold
  comparison_operator = each.value.operator
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]

  tags = var.tags
}

################################################################################
# A DMS task that fails (EventBridge: DMS has no task-state metric)
################################################################################

resource "aws_cloudwatch_event_rule" "dms_task_failed" {
  count = length(var.dms_tasks) > 0 ? 1 : 0

  name        = "${var.name}-dms-task-failed"
  description = "A watched DMS replication task changed to ${join(" or ", var.dms_failure_event_types)}"
  event_pattern = jsonencode({
    source        = ["aws.dms"]
    "detail-type" = ["DMS Replication Task State Change"]
    resources     = [for task in values(var.dms_tasks) : task.task_arn]
    detail        = { eventType = var.dms_failure_event_types }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "dms_task_failed" {
  count = length(var.dms_tasks) > 0 ? 1 : 0

  rule      = aws_cloudwatch_event_rule.dms_task_failed[0].name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.this.arn

  # A sentence a person can act on instead of the raw event JSON.
  input_transformer {
    input_paths = {
      time    = "$.time"
      task    = "$.resources[0]"
      event   = "$.detail.eventType"
      message = "$.detail.detailMessage"
    }
    input_template = "\"<time>: DMS task <task> <event>: <message>. dbmigrate cdc status shows the last error; dbmigrate cdc start resumes the stream.\""
  }
}
