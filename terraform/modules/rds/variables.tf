variable "name" {
  description = "Cluster identifier and name prefix."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "engine_version" {
  description = "Aurora MySQL 3 engine version (MySQL 8.0 compatible)."
  type        = string
  default     = "8.0.mysql_aurora.3.08.0"
  nullable    = false

  validation {
    condition     = startswith(var.engine_version, "8.0.mysql_aurora.3.")
    error_message = "engine_version must be an Aurora MySQL 3 version, like 8.0.mysql_aurora.3.08.0."
  }
}

variable "instance_class" {
  description = "Instance class of the writer and the readers."
  type        = string
  default     = "db.r6g.large"
  nullable    = false

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS instance class such as db.r6g.large."
  }
}

variable "reader_count" {
  description = "Number of reader instances besides the writer."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.reader_count >= 0 && var.reader_count <= 15 && floor(var.reader_count) == var.reader_count
    error_message = "reader_count must be a whole number from 0 to 15."
  }
}

variable "database_name" {
  description = "Database created with the cluster (the migration target)."
  type        = string
  default     = "shop"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.database_name))
    error_message = "database_name must start with a letter and hold letters, digits or underscores (max 64)."
  }
}

variable "master_username" {
  description = "Master user; its password is generated and kept by RDS in Secrets Manager."
  type        = string
  default     = "admin"
  nullable    = false
}

variable "subnet_ids" {
  description = "Private subnets (two or more availability zones)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Aurora needs subnets in at least two availability zones."
  }
}

variable "security_group_ids" {
  description = "Security groups of the cluster."
  type        = list(string)
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer KMS key for storage, the master secret and Performance Insights."
  type        = string
  nullable    = false
}

variable "backup_retention_days" {
  description = "Days of automated backups (and point-in-time recovery window)."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "preferred_backup_window" {
  description = "Daily backup window (UTC)."
  type        = string
  default     = "02:00-03:00"
  nullable    = false
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster; turn off only in throwaway environments."
  type        = bool
  default     = true
  nullable    = false
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot; false keeps one, named <name>-final."
  type        = bool
  default     = false
  nullable    = false
}

variable "time_zone" {
  description = "Server time zone (keep UTC unless the source runs in another one)."
  type        = string
  default     = "UTC"
  nullable    = false
}

variable "collation_server" {
  description = "Server default collation (character_set_server is utf8mb4): what a table or database created without COLLATE gets. It must match the source's default collation, which is also what `dbmigrate schema migrate` gives the database it creates (utf8mb4_unicode_ci when the source's is not known, as migration_assets.lib.dialects.mysql.DEFAULT_COLLATION); a MySQL 8 source keeping its default wants utf8mb4_0900_ai_ci."
  type        = string
  default     = "utf8mb4_unicode_ci"
  nullable    = false

  validation {
    condition     = can(regex("^utf8mb4_[a-z0-9_]+$", var.collation_server))
    error_message = "collation_server must be a utf8mb4 collation, like utf8mb4_unicode_ci or utf8mb4_0900_ai_ci."
  }
}

variable "local_infile" {
  description = "Allow LOAD DATA LOCAL (instance parameter local_infile=1), which the full load uses to copy rows. Off, the load still runs, by multi-row INSERT, several times slower (dbmigrate warns before it starts); turn it off after the migration if policy forbids it."
  type        = bool
  default     = true
  nullable    = false
}

variable "binlog_for_reverse_replication" {
  description = "Binary log on (binlog_format=ROW, binlog_row_image=FULL, log_bin_trust_function_creators=1): needed for the rollback after cutover, where the on-prem server replicates every write made on Aurora. Costs some write throughput (Aurora writes a binlog besides its storage log): turn it off once the rollback window has closed. binlog_format takes effect at the writer's next reboot."
  type        = bool
  default     = true
  nullable    = false
}

variable "binlog_retention_hours" {
  description = "Hours Aurora keeps binlog files, at least as long as the on-prem server may stay behind or down during the rollback window. Set through SQL, not the parameter group: run the binlog_retention_sql output on the writer."
  type        = number
  default     = 24
  nullable    = false

  validation {
    condition     = var.binlog_retention_hours >= 1 && var.binlog_retention_hours <= 2160 && floor(var.binlog_retention_hours) == var.binlog_retention_hours
    error_message = "binlog_retention_hours must be a whole number of hours from 1 to 2160 (90 days, Aurora MySQL 3's maximum)."
  }
}

variable "log_exports" {
  description = "Logs exported to CloudWatch."
  type        = list(string)
  default     = ["audit", "error", "slowquery"]
  nullable    = false

  validation {
    condition     = alltrue([for l in var.log_exports : contains(["audit", "error", "general", "slowquery"], l)])
    error_message = "log_exports may contain audit, error, general and slowquery."
  }
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds (0 turns it off)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms (they notify alarm_topic_arn)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_topic_arn" {
  description = "SNS topic for the CPU and replica-lag alarms (known only after apply is fine: create_alarms decides)."
  type        = string
  default     = null
}

variable "cpu_alarm_percent" {
  description = "Writer CPU above this for 10 minutes raises an alarm."
  type        = number
  default     = 80
  nullable    = false
}

variable "replica_lag_alarm_ms" {
  description = "Aurora replica lag above this (milliseconds) raises an alarm."
  type        = number
  default     = 2000
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
