mock_provider "aws" {
  mock_resource "aws_vpn_gateway" {
    defaults = { id = "vgw-0123456789abcdef0" }
  }
  mock_resource "aws_vpn_connection" {
    defaults = { id = "vpn-0123456789abcdef0", transit_gateway_attachment_id = "tgw-attach-0123456789abcdef0" }
  }
  mock_data "aws_ec2_transit_gateway" {
    defaults = { association_default_route_table_id = "tgw-rtb-0defa0170000000000" }
  }
}

variables {
  name                                   = "mig-test"
  vpc_id                                 = "vpc-0123456789abcdef0"
  onprem_cidrs                           = ["192.168.10.0/24", "192.168.20.0/24"]
  customer_gateway                       = { ip_address = "203.0.113.10", bgp_asn = 65010 }
  route_table_ids                        = ["rtb-0aaaaaaaaaaaaaaaa"]
  egress_to_onprem_security_group_ids    = { dms = "sg-0dddddddddddddddd", aurora = "sg-0aaaaaaaaaaaaaaaa" }
  ingress_from_onprem_security_group_ids = { aurora = "sg-0aaaaaaaaaaaaaaaa" }
}

run "a_vpn_gateway_with_static_routes_by_default" {
  command = apply # against the mock provider: resolves the gateway and connection ids

  assert {
    condition     = aws_customer_gateway.this.ip_address == "203.0.113.10" && aws_customer_gateway.this.bgp_asn == "65010" && aws_customer_gateway.this.type == "ipsec.1"
    error_message = "the customer gateway is the on-premises device"
  }
  assert {
    condition     = aws_vpn_gateway.this[0].vpc_id == var.vpc_id && aws_vpn_connection.this.vpn_gateway_id == aws_vpn_gateway.this[0].id && aws_vpn_connection.this.transit_gateway_id == null
    error_message = "the VPN ends at a virtual private gateway attached to the VPC"
  }
  assert {
    condition     = aws_vpn_connection.this.static_routes_only && toset([for r in aws_vpn_connection_route.this : r.destination_cidr_block]) == toset(var.onprem_cidrs)
    error_message = "a static route for each on-premises CIDR"
  }
  assert {
    condition     = [for p in aws_vpn_gateway_route_propagation.this : p.route_table_id] == ["rtb-0aaaaaaaaaaaaaaaa"] && length(aws_route.onprem_via_tgw) == 0
    error_message = "the gateway propagates its routes into the given route tables"
  }
  assert {
    condition     = aws_vpn_connection.this.tunnel1_ike_versions == toset(["ikev2"]) && aws_vpn_connection.this.tunnel2_ike_versions == toset(["ikev2"]) && !contains(aws_vpn_connection.this.tunnel1_phase1_encryption_algorithms, "AES128")
    error_message = "IKEv2 and AES-256 only, on both tunnels"
  }
}

run "mysql_only_to_and_from_the_onprem_cidrs" {
  command = plan

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.mysql_to_onprem) == 4 && length(aws_vpc_security_group_ingress_rule.mysql_from_onprem) == 2
    error_message = "one rule per security group and on-premises CIDR"
  }
  assert {
    condition     = alltrue([for r in concat(values(aws_vpc_security_group_egress_rule.mysql_to_onprem), values(aws_vpc_security_group_ingress_rule.mysql_from_onprem)) : r.ip_protocol == "tcp" && r.from_port == 3306 && r.to_port == 3306 && contains(var.onprem_cidrs, r.cidr_ipv4)])
    error_message = "TCP 3306 and the on-premises CIDRs, nothing else"
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.mysql_to_onprem["dms 192.168.20.0/24"].security_group_id == "sg-0dddddddddddddddd" && aws_vpc_security_group_ingress_rule.mysql_from_onprem["aurora 192.168.10.0/24"].security_group_id == "sg-0aaaaaaaaaaaaaaaa"
    error_message = "DMS reaches on-premises; on-premises reaches Aurora (the rollback stream)"
  }
}

run "a_transit_gateway_instead" {
  command = apply
  variables {
    gateway_type                   = "transit_gateway"
    transit_gateway_id             = "tgw-0123456789abcdef0"
    transit_gateway_vpc_subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  }
  assert {
    condition     = length(aws_vpn_gateway.this) == 0 && aws_vpn_connection.this.transit_gateway_id == "tgw-0123456789abcdef0" && aws_vpn_connection.this.vpn_gateway_id == null
    error_message = "the VPN ends at the transit gateway, no virtual private gateway"
  }
  assert {
    condition     = aws_ec2_transit_gateway_vpc_attachment.this[0].vpc_id == var.vpc_id && length(aws_vpn_gateway_route_propagation.this) == 0
    error_message = "the VPC is attached to the transit gateway"
  }
  assert {
    condition     = toset([for r in aws_route.onprem_via_tgw : "${r.route_table_id} ${r.destination_cidr_block} ${r.transit_gateway_id}"]) == toset(["rtb-0aaaaaaaaaaaaaaaa 192.168.10.0/24 tgw-0123456789abcdef0", "rtb-0aaaaaaaaaaaaaaaa 192.168.20.0/24 tgw-0123456789abcdef0"])
    error_message = "each route table sends each on-premises CIDR to the transit gateway"
  }
  assert {
    condition     = toset([for r in aws_ec2_transit_gateway_route.onprem : "${r.transit_gateway_route_table_id} ${r.destination_cidr_block} ${r.transit_gateway_attachment_id}"]) == toset(["tgw-rtb-0defa0170000000000 192.168.10.0/24 tgw-attach-0123456789abcdef0", "tgw-rtb-0defa0170000000000 192.168.20.0/24 tgw-attach-0123456789abcdef0"])
    error_message = "the transit gateway's default route table sends the on-premises CIDRs into the VPN"
  }
}

run "bgp_learns_the_routes" {
  command = plan
  variables {
    static_routes_only = false
  }
  assert {
    condition     = !aws_vpn_connection.this.static_routes_only && length(aws_vpn_connection_route.this) == 0
    error_message = "no static routes with BGP"
  }
}

run "a_transit_gateway_needs_its_id" {
  command = plan
  variables {
    gateway_type = "transit_gateway"
  }
  expect_failures = [aws_vpn_connection.this]
}

run "the_whole_internet_is_refused" {
  command = plan
  variables {
    onprem_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.onprem_cidrs]
}

run "a_private_customer_gateway_address_is_refused" {
  command = plan
  variables {
    customer_gateway = { ip_address = "192.168.1.1" }
  }
  expect_failures = [var.customer_gateway]
}

run "an_unknown_gateway_type_is_refused" {
  command = plan
  variables {
    gateway_type = "direct_connect"
  }
  expect_failures = [var.gateway_type]
}

run "a_port_out_of_range_is_refused" {
  command = plan
  variables {
    mysql_port = 70000
  }
  expect_failures = [var.mysql_port]
}
