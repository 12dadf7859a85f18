variable "name" {
  description = "Name prefix for every resource of this module."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 24
    error_message = "cidr_block must be a valid IPv4 CIDR of /24 or larger."
  }
}

variable "azs" {
  description = "Availability zones for the private subnets; at least two, for Aurora and DMS Multi-AZ."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.azs) >= 2
    error_message = "Give at least two availability zones."
  }
}

variable "private_subnet_cidrs" {
  description = "One private subnet CIDR per availability zone, inside cidr_block."
  type        = list(string)
  nullable    = false

  validation {
    condition     = alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Every private subnet CIDR must be a valid IPv4 CIDR."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow-log group."
  type        = string
  nullable    = false
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value (e.g. 30, 90, 365)."
  }
}

variable "interface_endpoints" {
  description = "AWS services the private subnets reach through interface endpoints (no NAT): the last part of com.amazonaws.<region>.<service>. DMS needs secretsmanager (and kms); the migration runner, when it runs in this VPC, also dms, monitoring (CloudWatch metrics), sns, kms, sts and rds. Empty: none, and no endpoint security group."
  type        = list(string)
  default     = ["secretsmanager"]
  nullable    = false

  validation {
    condition     = alltrue([for s in var.interface_endpoints : contains(["dms", "monitoring", "logs", "sns", "secretsmanager", "kms", "sts", "rds", "events"], s)])
    error_message = "interface_endpoints must name services among dms, monitoring, logs, sns, secretsmanager, kms, sts, rds and events."
  }
  validation {
    condition     = length(distinct(var.interface_endpoints)) == length(var.interface_endpoints)
    error_message = "interface_endpoints must not name a service twice."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
