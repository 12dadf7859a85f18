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
  description = "VPC of the DMS replication instance and the Aurora cluster."
  type        = string
  nullable    = false
}

variable "onprem_cidrs" {
  description = "On-premises networks behind the VPN (where the source MySQL runs and the rollback replica connects from); never 0.0.0.0/0."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.onprem_cidrs) > 0 && alltrue([for c in var.onprem_cidrs : can(cidrhost(c, 0)) && !startswith(c, "0.0.0.0/")])
    error_message = "onprem_cidrs must be one or more valid IPv4 CIDRs, and none may be 0.0.0.0/0."
  }
}

variable "customer_gateway" {
  description = "The on-premises VPN device: its public IPv4 address, its BGP ASN (used by AWS even with static routes), and an optional device name."
  type = object({
    ip_address  = string
    bgp_asn     = optional(number, 65000)
    device_name = optional(string)
  })
  nullable = false

  validation {
    condition     = can(regex("^(\\d{1,3}\\.){3}\\d{1,3}$", var.customer_gateway.ip_address)) && can(cidrhost("${var.customer_gateway.ip_address}/32", 0))
    error_message = "customer_gateway.ip_address must be an IPv4 address."
  }
  validation {
    # A Site-to-Site VPN over the internet ends at a public address (a private one means a
    # private-IP VPN over Direct Connect, which this module does not set up).
    condition     = !can(regex("^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|127\\.|0\\.)", var.customer_gateway.ip_address))
    error_message = "customer_gateway.ip_address must be the device's public address, not a private (RFC 1918) or loopback one."
  }
  validation {
    condition     = var.customer_gateway.bgp_asn >= 1 && var.customer_gateway.bgp_asn <= 4294967294 && floor(var.customer_gateway.bgp_asn) == var.customer_gateway.bgp_asn
    error_message = "customer_gateway.bgp_asn must be a whole number from 1 to 4294967294."
  }
}

variable "gateway_type" {
  description = "Where the VPN ends on the AWS side: vpn_gateway (a virtual private gateway attached to this VPC, created here) or transit_gateway (an existing transit gateway, transit_gateway_id)."
  type        = string
  default     = "vpn_gateway"
  nullable    = false

  validation {
    condition     = contains(["vpn_gateway", "transit_gateway"], var.gateway_type)
    error_message = "gateway_type must be vpn_gateway or transit_gateway."
  }
}

variable "amazon_side_asn" {
  description = "BGP ASN of the virtual private gateway (gateway_type vpn_gateway)."
  type        = number
  default     = 64512
  nullable    = false
}

variable "transit_gateway_id" {
  description = "Existing transit gateway the VPN connection ends at (required with gateway_type transit_gateway)."
  type        = string
  default     = null
}

variable "transit_gateway_route_table_id" {
  description = "Transit gateway route table that gets the static on-premises routes (null: the transit gateway's default association route table)."
  type        = string
  default     = null
}

variable "transit_gateway_vpc_subnet_ids" {
  description = "With transit_gateway: subnets (one per AZ) in which this module attaches the VPC to the transit gateway. Empty: the VPC is attached already."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "static_routes_only" {
  description = "Static routes for onprem_cidrs (true), or BGP learns them from the device (false)."
  type        = bool
  default     = true
  nullable    = false
}

variable "route_table_ids" {
  description = "Route tables of the subnets holding DMS and Aurora: they get the on-premises routes (propagated from the virtual private gateway, or routes to the transit gateway)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "mysql_port" {
  description = "MySQL port, on-premises and on Aurora: the only port the security group rules open."
  type        = number
  default     = 3306
  nullable    = false

  validation {
    condition     = var.mysql_port > 0 && var.mysql_port < 65536 && floor(var.mysql_port) == var.mysql_port
    error_message = "mysql_port must be a TCP port number."
  }
}

variable "egress_to_onprem_security_group_ids" {
  description = "Security groups that open MySQL connections to on-premises (DMS reading the source's binlog; Aurora as a binlog replica of it): a stable name => security group id. Each gets an egress rule to onprem_cidrs on mysql_port."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "ingress_from_onprem_security_group_ids" {
  description = "Security groups that on-premises connects to over MySQL (Aurora, which the on-premises server replicates from for the rollback): a stable name => security group id. Each gets an ingress rule from onprem_cidrs on mysql_port."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
