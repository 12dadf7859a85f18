output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "vpc_cidr_block" {
  description = "CIDR of the VPC."
  value       = try(aws_vpc.this.cidr_block, null)
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone."
  value       = try(aws_subnet.private[*].id, [])
}

output "private_route_table_id" {
  description = "Route table of the private subnets (add the on-premises routes here)."
  value       = try(aws_route_table.private.id, null)
}

output "interface_endpoint_ids" {
  description = "ID of each interface endpoint, by service (secretsmanager, dms ...)."
  value       = { for service, e in aws_vpc_endpoint.this : service => e.id }
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints (HTTPS from the VPC CIDR only); null without endpoints."
  value       = try(aws_security_group.endpoints[0].id, null)
}
