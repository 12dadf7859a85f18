################################################################################
# On-premises VPN: a Site-to-Site VPN from the on-premises network to the VPC, so
# that DMS (or Aurora as a binlog replica) reaches the source MySQL and the
# on-premises server reaches Aurora for the rollback stream. MySQL only, both ways,
# and only for the on-premises CIDRs. Direct Connect is the alternative (README).
################################################################################

locals {
  via_vgw = var.gateway_type == "vpn_gateway"
  via_tgw = var.gateway_type == "transit_gateway"

  # Keys are names and CIDRs (known at plan time), values the ids (often known only after apply).
  egress_rules = {
    for pair in setproduct(keys(var.egress_to_onprem_security_group_ids), var.onprem_cidrs) : "${pair[0]} ${pair[1]}" => {
      security_group_id = var.egress_to_onprem_security_group_ids[pair[0]]
      cidr              = pair[1]
    }
  }
  ingress_rules = {
    for pair in setproduct(keys(var.ingress_from_onprem_security_group_ids), var.onprem_cidrs) : "${pair[0]} ${pair[1]}" => {
      security_group_id = var.ingress_from_onprem_security_group_ids[pair[0]]
      cidr              = pair[1]
    }
  }
  tgw_vpc_routes = {
    for pair in setproduct(range(length(var.route_table_ids)), var.onprem_cidrs) : "${pair[0]} ${pair[1]}" => {
      route_table_id = var.route_table_ids[pair[0]]
      cidr           = pair[1]
    } if local.via_tgw && var.transit_gateway_id != null
  }
}

################################################################################
# Both ends of the tunnels
################################################################################

resource "aws_customer_gateway" "this" {
  bgp_asn     = tostring(var.customer_gateway.bgp_asn)
  ip_address  = var.customer_gateway.ip_address
  device_name = var.customer_gateway.device_name
  type        = "ipsec.1"

  tags = merge(var.tags, { Name = "${var.name}-onprem" })
}

resource "aws_vpn_gateway" "this" {
  count = local.via_vgw ? 1 : 0

  vpc_id          = var.vpc_id
  amazon_side_asn = var.amazon_side_asn

  tags = merge(var.tags, { Name = var.name })
}

data "aws_ec2_transit_gateway" "this" {
  count = local.via_tgw && var.transit_gateway_id != null && var.transit_gateway_route_table_id == null && var.static_routes_only ? 1 : 0

  id = var.transit_gateway_id
}

resource "aws_ec2_transit_gateway_vpc_attachment" "this" {
  count = local.via_tgw && length(var.transit_gateway_vpc_subnet_ids) > 0 ? 1 : 0

  transit_gateway_id = var.transit_gateway_id
  vpc_id             = var.vpc_id
  subnet_ids         = var.transit_gateway_vpc_subnet_ids

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# The VPN connection: two IPsec tunnels, IKEv2 and current ciphers only
################################################################################

resource "aws_vpn_connection" "this" {
  customer_gateway_id = aws_customer_gateway.this.id
  vpn_gateway_id      = local.via_vgw ? aws_vpn_gateway.this[0].id : null
  transit_gateway_id  = local.via_tgw ? var.transit_gateway_id : null
  type                = "ipsec.1"
  static_routes_only  = var.static_routes_only

  tunnel1_ike_versions                 = ["ikev2"]
  tunnel1_phase1_encryption_algorithms = ["AES256", "AES256-GCM-16"]
  tunnel1_phase1_integrity_algorithms  = ["SHA2-256", "SHA2-384", "SHA2-512"]
  tunnel1_phase1_dh_group_numbers      = [14, 19, 20, 21]
  tunnel1_phase2_encryption_algorithms = ["AES256", "AES256-GCM-16"]
  tunnel1_phase2_integrity_algorithms  = ["SHA2-256", "SHA2-384", "SHA2-512"]
  tunnel1_phase2_dh_group_numbers      = [14, 19, 20, 21]
  tunnel2_ike_versions                 = ["ikev2"]
  tunnel2_phase1_encryption_algorithms = ["AES256", "AES256-GCM-16"]
  tunnel2_phase1_integrity_algorithms  = ["SHA2-256", "SHA2-384", "SHA2-512"]
  tunnel2_phase1_dh_group_numbers      = [14, 19, 20, 21]
  tunnel2_phase2_encryption_algorithms = ["AES256", "AES256-GCM-16"]
  tunnel2_phase2_integrity_algorithms  = ["SHA2-256", "SHA2-384", "SHA2-512"]
  tunnel2_phase2_dh_group_numbers      = [14, 19, 20, 21]

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    precondition {
      condition     = !local.via_tgw || var.transit_gateway_id != null
      error_message = "gateway_type transit_gateway needs transit_gateway_id."
    }
  }
}

################################################################################
# Routes: on-premises CIDRs into the VPN, and into the VPC's route tables
################################################################################

resource "aws_vpn_connection_route" "this" {
  for_each = toset(local.via_vgw && var.static_routes_only ? var.onprem_cidrs : [])

  vpn_connection_id      = aws_vpn_connection.this.id
  destination_cidr_block = each.value
}

# The virtual private gateway puts its routes (static or learned by BGP) into these tables.
resource "aws_vpn_gateway_route_propagation" "this" {
  count = local.via_vgw ? length(var.route_table_ids) : 0

  vpn_gateway_id = aws_vpn_gateway.this[0].id
  route_table_id = var.route_table_ids[count.index]
}

resource "aws_ec2_transit_gateway_route" "onprem" {
  for_each = toset(local.via_tgw && var.static_routes_only ? var.onprem_cidrs : [])

  destination_cidr_block         = each.value
  transit_gateway_attachment_id  = aws_vpn_connection.this.transit_gateway_attachment_id
  transit_gateway_route_table_id = coalesce(var.transit_gateway_route_table_id, try(data.aws_ec2_transit_gateway.this[0].association_default_route_table_id, null))
}

resource "aws_route" "onprem_via_tgw" {
  for_each = local.tgw_vpc_routes

  route_table_id         = each.value.route_table_id
  destination_cidr_block = each.value.cidr
  transit_gateway_id     = var.transit_gateway_id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment.this]
}

################################################################################
# Security group rules: MySQL only, on-premises CIDRs only
################################################################################

resource "aws_vpc_security_group_egress_rule" "mysql_to_onprem" {
  for_each = local.egress_rules

  security_group_id = each.value.security_group_id
  description       = "MySQL to on-premises ${each.value.cidr} over the VPN"
  ip_protocol       = "tcp"
  from_port         = var.mysql_port
  to_port           = var.mysql_port
  cidr_ipv4         = each.value.cidr

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "mysql_from_onprem" {
  for_each = local.ingress_rules

  security_group_id = each.value.security_group_id
  description       = "MySQL from on-premises ${each.value.cidr} over the VPN (the rollback stream)"
  ip_protocol       = "tcp"
  from_port         = var.mysql_port
  to_port           = var.mysql_port
  cidr_ipv4         = each.value.cidr

  tags = var.tags
}
