variable "name" {
  description = "Name prefix of the replication instance, endpoints and task."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the replication instance (two or more AZs)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "DMS needs subnets in at least two availability zones."
  }
}

variable "security_group_ids" {
  description = "Security groups of the replication instance."
  type        = list(string)
  nullable    = false
}

variable "kms_key_arn" {
  description = "Customer KMS key for the instance storage and endpoint settings."
  type        = string
  nullable    = false
}

variable "instance_class" {
  description = "Replication instance class."
  type        = string
  default     = "dms.r6i.large"
  nullable    = false

  validation {
    condition     = startswith(var.instance_class, "dms.")
    error_message = "instance_class must be a DMS class such as dms.r6i.large."
  }
}

variable "multi_az" {
  description = "Run the replication instance Multi-AZ."
  type        = bool
  default     = true
  nullable    = false
}

variable "allocated_storage" {
  description = "Replication instance storage in GiB (holds cached changes during the full load)."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.allocated_storage >= 5 && var.allocated_storage <= 6144
    error_message = "allocated_storage must be between 5 and 6144 GiB."
  }
}

variable "engine_version" {
  description = "DMS engine version (null: the service default)."
  type        = string
  default     = null
}

variable "source_endpoint" {
  description = "The on-premises MySQL source: the secret with its host, port, username and password (JSON), and the CA of its TLS certificate."
  type = object({
    secret_arn = string
    ca_pem     = string
  })
  nullable = false

  validation {
    condition     = startswith(trimspace(var.source_endpoint.ca_pem), "-----BEGIN CERTIFICATE-----")
    error_message = "source_endpoint.ca_pem must be the PEM of the CA that signed the source's TLS certificate (verify-full needs it)."
  }
}

variable "target_endpoint" {
  description = "The Aurora target: the database, the secret with host, port, username and password of the DMS user (JSON), and the RDS CA bundle."
  type = object({
    database_name = string
    secret_arn    = string
    ca_pem        = string
  })
  nullable = false

  validation {
    condition     = startswith(trimspace(var.target_endpoint.ca_pem), "-----BEGIN CERTIFICATE-----")
    error_message = "target_endpoint.ca_pem must be the PEM of the RDS CA bundle (verify-full needs it)."
  }
}

variable "secrets_access_role_arn" {
  description = "Role the endpoints assume to read their secrets."
  type        = string
  nullable    = false
}

variable "table_mappings_json" {
  description = "DMS table mappings (JSON), generated from the table catalog by `dbmigrate dms mappings`."
  type        = string
  nullable    = false

  validation {
    condition     = can(jsondecode(var.table_mappings_json).rules)
    error_message = "table_mappings_json must be JSON with a rules list."
  }
}

variable "task_settings_json" {
  description = "DMS replication task settings (JSON)."
  type        = string
  nullable    = false

  validation {
    condition     = can(jsondecode(var.task_settings_json))
    error_message = "task_settings_json must be valid JSON."
  }
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms (they notify alarm_topic_arn)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_topic_arn" {
  description = "SNS topic for the CDC latency and instance alarms (known only after apply is fine: create_alarms decides)."
  type        = string
  default     = null
}

variable "cdc_latency_alarm_seconds" {
  description = "CDC latency (source or target) above this for 5 minutes raises an alarm."
  type        = number
  default     = 60
  nullable    = false
}

variable "instance_alarm_thresholds" {
  description = "Replication instance alarms: CPU above cpu_percent, freeable memory below freeable_memory_mib, free storage (where changes are cached while the target lags) below free_storage_gib, each for 5 minutes."
  type = object({
    cpu_percent         = optional(number, 85)
    freeable_memory_mib = optional(number, 256)
    free_storage_gib    = optional(number, 10)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.instance_alarm_thresholds.cpu_percent > 0 && var.instance_alarm_thresholds.cpu_percent <= 100
    error_message = "instance_alarm_thresholds.cpu_percent must be in (0, 100]."
  }
  validation {
    condition     = var.instance_alarm_thresholds.freeable_memory_mib > 0 && var.instance_alarm_thresholds.free_storage_gib > 0
    error_message = "instance_alarm_thresholds.freeable_memory_mib and free_storage_gib must be positive."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
