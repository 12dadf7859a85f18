output "replication_instance_arn" {
  description = "ARN of the replication instance."
  value       = try(aws_dms_replication_instance.this.replication_instance_arn, null)
}

output "replication_task_arn" {
  description = "ARN of the full-load-and-cdc task (the Dagster DMS sensors watch it)."
  value       = try(aws_dms_replication_task.this.replication_task_arn, null)
}

output "source_endpoint_arn" {
  description = "ARN of the source endpoint."
  value       = try(aws_dms_endpoint.source.endpoint_arn, null)
}

output "target_endpoint_arn" {
  description = "ARN of the target endpoint."
  value       = try(aws_dms_endpoint.target.endpoint_arn, null)
}
