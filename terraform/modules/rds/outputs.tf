output "cluster_id" {
  description = "Cluster identifier."
  value       = try(aws_rds_cluster.this.id, null)
}

output "cluster_arn" {
  description = "Cluster ARN."
  value       = try(aws_rds_cluster.this.arn, null)
}

output "cluster_resource_id" {
  description = "Cluster resource ID (for rds-db:connect policies)."
  value       = try(aws_rds_cluster.this.cluster_resource_id, null)
}

output "endpoint" {
  description = "Writer endpoint (AURORA_DB_HOST)."
  value       = try(aws_rds_cluster.this.endpoint, null)
}

output "reader_endpoint" {
  description = "Reader endpoint."
  value       = try(aws_rds_cluster.this.reader_endpoint, null)
}

output "port" {
  description = "MySQL port (AURORA_DB_PORT)."
  value       = try(aws_rds_cluster.this.port, null)
}

output "database_name" {
  description = "Database created with the cluster (AURORA_DB_NAME)."
  value       = try(aws_rds_cluster.this.database_name, null)
}

output "master_username" {
  description = "Master user name (AURORA_DB_USER for the first connection)."
  value       = try(aws_rds_cluster.this.master_username, null)
}

output "master_user_secret_arn" {
  description = "Secret RDS keeps the master password in (AURORA_DB_PASSWORD comes from here)."
  value       = try(aws_rds_cluster.this.master_user_secret[0].secret_arn, null)
}

output "instance_ids" {
  description = "Writer first, then readers."
  value       = concat([aws_rds_cluster_instance.writer.id], aws_rds_cluster_instance.reader[*].id)
}

output "binlog_retention_sql" {
  description = "Run once on the writer (master user) after apply, before the cutover: Aurora keeps binlog files binlog_retention_hours for the reverse stream. Null with the binlog off."
  value       = var.binlog_for_reverse_replication ? "CALL mysql.rds_set_configuration('binlog retention hours', ${var.binlog_retention_hours});" : null
}
