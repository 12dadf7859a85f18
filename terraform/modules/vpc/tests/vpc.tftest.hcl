mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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
