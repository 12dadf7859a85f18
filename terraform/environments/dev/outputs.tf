output "region" {
  description = "AWS region."
  value       = var.region
}

output "aurora_endpoint" {
  description = "Writer endpoint: AURORA_DB_HOST."
  value       = module.rds.endpoint
}

output "aurora_reader_endpoint" {
  description = "Reader endpoint."
  value       = module.rds.reader_endpoint
}

output "aurora_port" {
  description = "AURORA_DB_PORT."
  value       = module.rds.port
}

output "aurora_database_name" {
  description = "AURORA_DB_NAME."
  value       = module.rds.database_name
}

output "aurora_master_username" {
  description = "AURORA_DB_USER for the first connection."
  value       = module.rds.master_username
}

output "aurora_secret_arn" {
  description = "Secret with the master password: AURORA_DB_PASSWORD comes from here."
  value       = module.rds.master_user_secret_arn
}

output "aurora_binlog_retention_sql" {
  description = "Run once on the writer before the cutover: Aurora keeps its binlog for the reverse stream. Null with the binlog off."
  value       = module.rds.binlog_retention_sql
}

output "dms_task_arn" {
  description = "The CDC-only task (null without DMS)."
  value       = var.enable_dms ? module.dms[0].replication_task_arn : null
}

output "dms_task_id" {
  description = "DBMIGRATE_DMS_TASK_ID: the CDC-only task `dbmigrate cdc start` starts at the snapshot position (null without DMS)."
  value       = var.enable_dms ? module.dms[0].replication_task_id : null
}

output "runner_policy_arn" {
  description = "Attach to the role the Dagster code location runs as."
  value       = module.security.runner_policy_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the migration alarms: subscribe the team to it."
  value       = module.monitoring.topic_arn
}

output "alarm_names" {
  description = "CloudWatch alarms of the migration."
  value       = module.monitoring.alarm_names
}

output "vpn_tunnel_addresses" {
  description = "AWS-side addresses of the VPN tunnels for the on-premises device (empty without the VPN)."
  value       = var.onprem_vpn.enabled ? module.onprem_vpn[0].tunnel_addresses : []
}
