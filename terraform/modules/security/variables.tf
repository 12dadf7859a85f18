variable "name" {
  description = "Name prefix for every resource of this module."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC holding the database and the DMS replication instance."
  type        = string
  nullable    = false
}

variable "vpc_cidr_block" {
  description = "CIDR of the VPC (DMS reaches the Secrets Manager endpoint inside it)."
  type        = string
  nullable    = false
}

variable "db_port" {
  description = "MySQL port of the Aurora cluster and of the on-premises source."
  type        = number
  default     = 3306
  nullable    = false

  validation {
    condition     = var.db_port > 0 && var.db_port < 65536
    error_message = "db_port must be a TCP port number."
  }
}

variable "onprem_cidrs" {
  description = "On-premises networks allowed to reach Aurora (for the migration runner and reverse replication); never 0.0.0.0/0."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.onprem_cidrs : can(cidrhost(c, 0)) && !startswith(c, "0.0.0.0/")])
    error_message = "onprem_cidrs must be valid IPv4 CIDRs and must not open the database to the internet (0.0.0.0/0)."
  }
}

variable "db_egress_to_onprem" {
  description = "Let Aurora open MySQL connections to onprem_cidrs on db_port (Aurora as a binlog replica of the source: `replication` change capture). Nothing is opened when onprem_cidrs is empty."
  type        = bool
  default     = true
  nullable    = false
}

variable "app_security_group_ids" {
  description = "Security groups of the applications (and the Dagster runner) that use Aurora."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the customer key is deleted."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "create_dms_service_roles" {
  description = "Create the account-wide dms-vpc-role and dms-cloudwatch-logs-role (set false when the account already has them)."
  type        = bool
  default     = true
  nullable    = false
}

variable "aurora_cluster_arn" {
  description = "ARN of the Aurora cluster the runner may administer (null before it exists)."
  type        = string
  default     = null
}

variable "aurora_cluster_resource_id" {
  description = "Resource ID of the Aurora cluster, for rds-db:connect (IAM database authentication)."
  type        = string
  default     = null
}

variable "aurora_master_secret_arn" {
  description = "ARN of the Aurora master-user secret managed by RDS."
  type        = string
  default     = null
}

variable "runner_db_user" {
  description = "Database user the migration runner connects as with IAM authentication."
  type        = string
  default     = "migrator"
  nullable    = false
}

variable "dms_task_arn" {
  description = "ARN of the DMS replication task the runner may start and stop (null without DMS)."
  type        = string
  default     = null
}

variable "alert_topic_arn" {
  description = "SNS topic the migration runner's run-failure sensor publishes to (DBMIGRATE_ALERT_SNS_TOPIC_ARN, the monitoring module's topic_arn); null: no sns:Publish."
  type        = string
  default     = null

  validation {
    condition     = var.alert_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.alert_topic_arn))
    error_message = "alert_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "alert_topic_kms_key_arn" {
  description = "KMS key encrypting alert_topic_arn (the monitoring module's topic_kms_key_arn): the runner may make data keys with it through SNS only. Null: the topic is not encrypted."
  type        = string
  default     = null

  validation {
    condition     = var.alert_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.alert_topic_kms_key_arn))
    error_message = "alert_topic_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
