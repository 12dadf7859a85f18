mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  # Valid ARNs for the attributes the provider checks when a run applies.
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc/mig-test/flow-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/mig-test-vpc-flow-logs" }
  }
}

variables {
  name                 = "mig-test"
  cidr_block           = "10.0.0.0/16"
  azs                  = ["eu-west-1a", "eu-west-1b"]
  private_subnet_cidrs = ["10.0.0.0/24", "10.0.1.0/24"]
  kms_key_arn          = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
}

run "private_subnets_in_two_azs_with_encrypted_flow_logs" {
  command = plan

  assert {
    condition     = length(aws_subnet.private) == 2
    error_message = "one private subnet per AZ"
  }
  assert {
    condition     = alltrue([for s in aws_subnet.private : s.map_public_ip_on_launch == false])
    error_message = "subnets must not assign public IPs"
  }
  assert {
    condition     = aws_cloudwatch_log_group.flow_logs.kms_key_id == var.kms_key_arn
    error_message = "flow logs must be encrypted with the customer key"
  }
  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL"
    error_message = "flow logs must record all traffic"
  }
}

run "one_az_is_refused" {
  command = plan
  variables {
    azs                  = ["eu-west-1a"]
    private_subnet_cidrs = ["10.0.0.0/24"]
  }
  expect_failures = [var.azs]
}

run "bad_cidr_is_refused" {
  command = plan
  variables {
    cidr_block = "10.0.0.0/28"
  }
  expect_failures = [var.cidr_block]
}

run "secrets_manager_endpoint_by_default" {
  command = plan

  assert {
    condition     = keys(aws_vpc_endpoint.this) == ["secretsmanager"] && aws_vpc_endpoint.this["secretsmanager"].service_name == "com.amazonaws.eu-west-1.secretsmanager"
    error_message = "DMS reaches Secrets Manager through an endpoint even when nothing else is asked"
  }
}

run "the_apis_the_runner_and_dms_call_through_private_endpoints" {
  command = apply # against the mock provider: resolves the subnet and security group ids
  variables {
    interface_endpoints = ["dms", "monitoring", "sns", "secretsmanager", "kms", "sts", "rds"]
  }

  assert {
    condition     = toset([for e in aws_vpc_endpoint.this : e.service_name]) == toset([for s in ["dms", "monitoring", "sns", "secretsmanager", "kms", "sts", "rds"] : "com.amazonaws.eu-west-1.${s}"])
    error_message = "one interface endpoint per service asked for, in the VPC's region"
  }
  assert {
    condition     = alltrue([for e in aws_vpc_endpoint.this : e.vpc_endpoint_type == "Interface" && e.private_dns_enabled && e.subnet_ids == toset(aws_subnet.private[*].id) && e.security_group_ids == toset([aws_security_group.endpoints[0].id])])
    error_message = "interface endpoints in every private subnet, behind their own security group, with private DNS so the regional API names resolve to them"
  }
  assert {
    condition     = length(aws_security_group.endpoints) == 1 && length(aws_security_group.endpoints[0].ingress) == 1 && alltrue([for r in aws_security_group.endpoints[0].ingress : r.protocol == "tcp" && r.from_port == 443 && r.to_port == 443 && toset(r.cidr_blocks) == toset(["10.0.0.0/16"]) && try(length(r.ipv6_cidr_blocks), 0) == 0 && try(length(r.security_groups), 0) == 0 && try(length(r.prefix_list_ids), 0) == 0 && r.self != true])
    error_message = "the endpoints' own security group takes HTTPS from the VPC CIDR only"
  }
}

run "no_endpoints_when_none_are_asked_for" {
  command = plan
  variables {
    interface_endpoints = []
  }
  assert {
    condition     = length(aws_vpc_endpoint.this) == 0 && length(aws_security_group.endpoints) == 0
    error_message = "no endpoints and no endpoint security group"
  }
}

run "an_unknown_service_is_refused" {
  command = plan
  variables {
    interface_endpoints = ["s3", "secretsmanager"]
  }
  expect_failures = [var.interface_endpoints]
}
