variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
  nullable    = false
}

variable "environment" {
  description = "Environment name, used in resource names and tags."
  type        = string
  default     = "dev"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}$", var.environment))
    error_message = "environment must be 2-11 lower-case letters or digits."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the migration VPC."
  type        = string
  default     = "10.42.0.0/16"
  nullable    = false
}

variable "azs" {
  description = "Availability zones (two or more)."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b"]
  nullable    = false
}

variable "onprem_cidrs" {
  description = "On-premises networks that reach Aurora and that DMS reaches."
  type        = list(string)
  default     = ["192.168.0.0/16"]
  nullable    = false
}

variable "vpc_interface_endpoints" {
  description = "AWS APIs the private subnets reach through interface endpoints (the VPC has no NAT): DMS and the migration runner call these. Set [] when a NAT or a shared-services VPC provides them (each endpoint costs per AZ-hour)."
  type        = list(string)
  default     = ["dms", "monitoring", "sns", "secretsmanager", "kms", "sts", "rds"]
  nullable    = false
}

variable "app_security_group_ids" {
  description = "Security groups of the applications that use Aurora after cutover."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "database_name" {
  description = "Target database (AURORA_DB_NAME)."
  type        = string
  default     = "shop"
  nullable    = false
}

variable "aurora_instance_class" {
  description = "Aurora instance class."
  type        = string
  default     = "db.r6g.large"
  nullable    = false
}

variable "aurora_reader_count" {
  description = "Aurora readers besides the writer."
  type        = number
  default     = 1
  nullable    = false
}

variable "aurora_collation_server" {
  description = "Aurora's server default collation: must match the source database's default collation (dbmigrate schema migrate creates the target database with the source's)."
  type        = string
  default     = "utf8mb4_unicode_ci"
  nullable    = false
}

variable "aurora_binlog_for_rollback" {
  description = "Aurora's binlog on in ROW format: the rollback after cutover replicates Aurora's writes back to on-prem. Costs some write throughput; turn off when the rollback window has closed."
  type        = bool
  default     = true
  nullable    = false
}

variable "aurora_binlog_retention_hours" {
  description = "Hours Aurora keeps binlog files for the reverse stream (run the aurora_binlog_retention_sql output on the writer)."
  type        = number
  default     = 24
  nullable    = false
}

variable "deletion_protection" {
  description = "Deletion protection of the cluster (this dev environment turns it off)."
  type        = bool
  default     = false
  nullable    = false
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot on destroy (this dev environment skips it)."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_dms" {
  description = "Create the DMS replication instance, endpoints and task."
  type        = bool
  default     = true
  nullable    = false
}

variable "dms_instance_class" {
  description = "DMS replication instance class."
  type        = string
  default     = "dms.t3.medium"
  nullable    = false
}

variable "dms_multi_az" {
  description = "Run DMS Multi-AZ."
  type        = bool
  default     = false
  nullable    = false
}

variable "source_ca_pem" {
  description = "PEM of the CA that signed the on-premises MySQL TLS certificate."
  type        = string
  nullable    = false
}

variable "rds_ca_pem" {
  description = "PEM of the RDS CA bundle for the region (for verify-full to Aurora)."
  type        = string
  nullable    = false
}

variable "create_dms_service_roles" {
  description = "Create dms-vpc-role and dms-cloudwatch-logs-role (false if the account has them)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_email_endpoints" {
  description = "E-mail addresses that get the migration alarms (each confirms a subscription mail)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "alarm_https_endpoint" {
  description = "HTTPS webhook that gets the migration alarms (null: none)."
  type        = string
  default     = null
}

variable "alarm_thresholds" {
  description = "Alarm thresholds (see modules/monitoring: cdc_latency_seconds, replica_lag_ms, cpu_percent, free_local_storage_gib, connections); unset ones keep the module's defaults."
  type        = map(number)
  default     = {}
  nullable    = false
}

variable "onprem_vpn" {
  description = "Site-to-Site VPN from on-premises (modules/onprem_vpn), off by default: leave it off when Direct Connect or an existing VPN already routes onprem_cidrs to the VPC."
  type = object({
    enabled                       = optional(bool, false)
    customer_gateway_ip           = optional(string)
    bgp_asn                       = optional(number, 65000)
    gateway_type                  = optional(string, "vpn_gateway")
    transit_gateway_id            = optional(string)
    attach_vpc_to_transit_gateway = optional(bool, true)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.onprem_vpn.enabled || var.onprem_vpn.customer_gateway_ip != null
    error_message = "onprem_vpn.enabled needs onprem_vpn.customer_gateway_ip (the public address of the on-premises VPN device)."
  }
}

variable "aws_endpoint_url" {
  description = "Tests only: send every AWS API call to this URL (a local moto server)."
  type        = string
  default     = null
}
