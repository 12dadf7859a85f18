output "replication_instance_arn" {
  description = "ARN of the replication instance."
  value       = try(aws_dms_replication_instance.this.replication_instance_arn, null)
}

output "replication_instance_id" {
  description = "Identifier of the replication instance (the ReplicationInstanceIdentifier dimension of AWS/DMS metrics)."
  value       = try(aws_dms_replication_instance.this.replication_instance_id, null)
}

output "replication_task_arn" {
  description = "ARN of the CDC-only task (started at the snapshot position by `dbmigrate cdc start`; the change_stream_sensor watches it)."
  value       = try(aws_dms_replication_task.this.replication_task_arn, null)
}

output "replication_task_id" {
  description = "Identifier of the CDC-only task: set DBMIGRATE_DMS_TASK_ID to it."
  value       = try(aws_dms_replication_task.this.replication_task_id, null)
}

output "source_endpoint_arn" {
  description = "ARN of the source endpoint."
  value       = try(aws_dms_endpoint.source.endpoint_arn, null)
}

output "target_endpoint_arn" {
  description = "ARN of the target endpoint."
  value       = try(aws_dms_endpoint.target.endpoint_arn, null)
}
