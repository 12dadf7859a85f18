mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name                   = "mig-test"
  vpc_id                 = "vpc-0123456789abcdef0"
  vpc_cidr_block         = "10.0.0.0/16"
  onprem_cidrs           = ["192.168.10.0/24"]
  app_security_group_ids = ["sg-0aaaaaaaaaaaaaaaa"]
}

run "mysql_only_from_dms_apps_and_onprem" {
  command = plan

  assert {
    condition     = aws_vpc_security_group_ingress_rule.db_from_dms.from_port == 3306 && aws_vpc_security_group_ingress_rule.db_from_dms.to_port == 3306
    error_message = "DMS reaches Aurora on 3306 only"
  }
  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.db_from_onprem : r.cidr_ipv4] == ["192.168.10.0/24"]
    error_message = "on-premises ingress is exactly the given CIDRs"
  }
  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.db_from_apps : r.referenced_security_group_id] == ["sg-0aaaaaaaaaaaaaaaa"]
    error_message = "application ingress is exactly the given security groups"
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.dms_to_endpoints.cidr_ipv4 == "10.0.0.0/16"
    error_message = "DMS HTTPS egress stays inside the VPC"
  }
}

run "keys_and_secrets_are_customer_managed" {
  command = apply # against the mock provider: resolves the key ARN the secrets must use

  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "the customer key must rotate"
  }
  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 30
    error_message = "the key deletion window defaults to 30 days"
  }
  assert {
    condition     = aws_secretsmanager_secret.source.kms_key_id == aws_kms_key.this.arn && aws_secretsmanager_secret.target_dms.kms_key_id == aws_kms_key.this.arn
    error_message = "secrets must be encrypted with the customer key"
  }
  assert {
    condition     = aws_iam_role.dms_vpc[0].name == "dms-vpc-role" && aws_iam_role.dms_cloudwatch[0].name == "dms-cloudwatch-logs-role"
    error_message = "DMS needs its roles under these exact names"
  }
}

run "service_roles_can_be_left_to_the_account" {
  command = plan
  variables {
    create_dms_service_roles = false
  }
  assert {
    condition     = length(aws_iam_role.dms_vpc) == 0 && length(aws_iam_role.dms_cloudwatch) == 0
    error_message = "no account-wide roles when told not to"
  }
}

run "internet_wide_database_access_is_refused" {
  command = plan
  variables {
    onprem_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.onprem_cidrs]
}

run "short_key_deletion_window_is_refused" {
  command = plan
  variables {
    kms_deletion_window_days = 3
  }
  expect_failures = [var.kms_deletion_window_days]
}
