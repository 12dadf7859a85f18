output "customer_gateway_id" {
  description = "ID of the customer gateway (the on-premises device)."
  value       = try(aws_customer_gateway.this.id, null)
}

output "vpn_gateway_id" {
  description = "ID of the virtual private gateway (null with a transit gateway)."
  value       = try(aws_vpn_gateway.this[0].id, null)
}

output "vpn_connection_id" {
  description = "ID of the VPN connection: download the device configuration for it in the VPC console (it holds the pre-shared keys, which are not outputs)."
  value       = try(aws_vpn_connection.this.id, null)
}

output "tunnel_addresses" {
  description = "AWS-side public addresses of the two tunnels, for the on-premises firewall."
  value       = compact([try(aws_vpn_connection.this.tunnel1_address, null), try(aws_vpn_connection.this.tunnel2_address, null)])
}

output "transit_gateway_attachment_id" {
  description = "Transit gateway attachment of the VPN connection (null with a virtual private gateway)."
  value       = try(aws_vpn_connection.this.transit_gateway_attachment_id, null)
}

output "security_group_rule_ids" {
  description = "IDs of the MySQL rules this module added, egress and ingress, by security group name and CIDR."
  value = {
    egress  = { for k, r in aws_vpc_security_group_egress_rule.mysql_to_onprem : k => r.security_group_rule_id }
    ingress = { for k, r in aws_vpc_security_group_ingress_rule.mysql_from_onprem : k => r.security_group_rule_id }
  }
}
