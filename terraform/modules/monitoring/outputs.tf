output "topic_arn" {
  description = "SNS topic the alarms and the DMS failure rule notify (subscribe more endpoints to it)."
  value       = try(aws_sns_topic.this.arn, null)
}

output "topic_kms_key_arn" {
  description = "KMS key encrypting the topic (the one given, or the one created here)."
  value       = try(aws_sns_topic.this.kms_master_key_id, null)
}

output "alarm_names" {
  description = "Names of every CloudWatch alarm, sorted."
  value       = sort([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name])
}

output "alarm_arns" {
  description = "ARN of each alarm by its key (dms-<task>-source-latency, dms-<instance>-free-storage, aurora-<instance>-cpu ...)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn }
}

output "dms_task_failure_rule_arn" {
  description = "EventBridge rule that reports a failed DMS task (null without DMS tasks)."
  value       = try(aws_cloudwatch_event_rule.dms_task_failed[0].arn, null)
}
