variable "name" {
  description = "Name prefix for every resource of this module (alarm names start with it)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "Customer KMS key that encrypts the alarm topic. Null: the module creates one whose policy lets CloudWatch and EventBridge publish (a key you pass must allow cloudwatch.amazonaws.com and events.amazonaws.com kms:GenerateDataKey* and kms:Decrypt, or the notifications are dropped)."
  type        = string
  default     = null
}

variable "email_endpoints" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm the subscription mail). None by default."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.email_endpoints : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "email_endpoints must be e-mail addresses (name@domain.tld)."
  }
}

variable "https_endpoint" {
  description = "HTTPS URL subscribed to the alarm topic (an on-call or chat webhook that confirms SNS subscriptions). Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.https_endpoint == null || can(regex("^https://[^\\s/]+", var.https_endpoint))
    error_message = "https_endpoint must be an https:// URL (plain http would send alarm text in the clear)."
  }
}

variable "aurora_instances" {
  description = "Aurora DB instances to watch: a short stable name used in alarm names (writer, reader-1, ...) => DB instance identifier. Each gets CPU, free local storage, connections and replica-lag alarms."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.aurora_instances) : can(regex("^[a-z][a-z0-9-]{0,30}$", k))])
    error_message = "aurora_instances keys must be 1-31 lower-case letters, digits or dashes (they become part of alarm names)."
  }
}

variable "dms_tasks" {
  description = "DMS replication tasks to watch: a short stable name used in alarm names => the replication instance identifier (the name given to the instance, the dimension CloudWatch uses) and the task ARN. Each gets CDC source and target latency alarms and a failure notification."
  type = map(object({
    replication_instance_id = string
    task_arn                = string
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k in keys(var.dms_tasks) : can(regex("^[a-z][a-z0-9-]{0,30}$", k))])
    error_message = "dms_tasks keys must be 1-31 lower-case letters, digits or dashes (they become part of alarm names)."
  }
  validation {
    # CloudWatch's ReplicationTaskIdentifier dimension is the resource ID at the end of the ARN,
    # not the task's name: a name here would leave the alarms without data forever.
    condition     = alltrue([for t in values(var.dms_tasks) : can(regex("^arn:aws[a-z-]*:dms:[a-z0-9-]+:[0-9]{12}:task:[A-Za-z0-9]+$", t.task_arn))])
    error_message = "dms_tasks task_arn must be a DMS task ARN (arn:aws:dms:<region>:<account>:task:<resource id>)."
  }
}

variable "dms_replication_instances" {
  description = "DMS replication instances to watch: a short stable name used in alarm names => the replication instance identifier (the name given to it, CloudWatch's ReplicationInstanceIdentifier). Each gets CPU, freeable memory and free storage alarms."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.dms_replication_instances) : can(regex("^[a-z][a-z0-9-]{0,30}$", k))])
    error_message = "dms_replication_instances keys must be 1-31 lower-case letters, digits or dashes (they become part of alarm names)."
  }
  validation {
    # The dimension is the identifier given to the instance; its ARN ends in a generated ID instead.
    condition     = alltrue([for v in values(var.dms_replication_instances) : !startswith(v, "arn:")])
    error_message = "dms_replication_instances values must be replication instance identifiers (the name given to the instance), not ARNs."
  }
}

variable "dms_failure_event_types" {
  description = "DMS task state-change events that notify the topic (REPLICATION_TASK_STOPPED is left out by default: dbmigrate stops the task itself at cutover)."
  type        = list(string)
  default     = ["REPLICATION_TASK_FAILED"]
  nullable    = false

  validation {
    condition     = length(var.dms_failure_event_types) > 0 && alltrue([for e in var.dms_failure_event_types : can(regex("^REPLICATION_TASK_[A-Z_]+$", e))])
    error_message = "dms_failure_event_types must be one or more REPLICATION_TASK_* event types."
  }
}

variable "thresholds" {
  description = "Alarm thresholds. CDC latency in seconds (source: reading the on-prem binlog; target: applying to Aurora), Aurora replica lag in milliseconds, CPU in percent, free local storage in GiB (Aurora's temporary storage per instance; the cluster volume grows by itself), connections as a count (set near 80% of max_connections of the instance class); DMS replication instance CPU in percent, freeable memory in MiB and free storage in GiB."
  type = object({
    cdc_latency_seconds     = optional(number, 60)
    replica_lag_ms          = optional(number, 2000)
    cpu_percent             = optional(number, 80)
    free_local_storage_gib  = optional(number, 2)
    connections             = optional(number, 800)
    dms_cpu_percent         = optional(number, 85)
    dms_freeable_memory_mib = optional(number, 256)
    dms_free_storage_gib    = optional(number, 10)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.thresholds.cdc_latency_seconds > 0 && var.thresholds.replica_lag_ms > 0
    error_message = "thresholds.cdc_latency_seconds and thresholds.replica_lag_ms must be positive."
  }
  validation {
    condition     = var.thresholds.cpu_percent > 0 && var.thresholds.cpu_percent <= 100
    error_message = "thresholds.cpu_percent must be in (0, 100]."
  }
  validation {
    condition     = var.thresholds.free_local_storage_gib > 0 && var.thresholds.connections >= 1
    error_message = "thresholds.free_local_storage_gib must be positive and thresholds.connections at least 1."
  }
  validation {
    condition     = var.thresholds.dms_cpu_percent > 0 && var.thresholds.dms_cpu_percent <= 100
    error_message = "thresholds.dms_cpu_percent must be in (0, 100]."
  }
  validation {
    condition     = var.thresholds.dms_freeable_memory_mib > 0 && var.thresholds.dms_free_storage_gib > 0
    error_message = "thresholds.dms_freeable_memory_mib and thresholds.dms_free_storage_gib must be positive."
  }
}

variable "evaluation_minutes" {
  description = "Minutes a metric must be past its threshold (one-minute periods, all of them breaching) before the alarm fires."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.evaluation_minutes >= 1 && var.evaluation_minutes <= 60 && floor(var.evaluation_minutes) == var.evaluation_minutes
    error_message = "evaluation_minutes must be a whole number from 1 to 60."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the topic key the module creates is deleted."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
