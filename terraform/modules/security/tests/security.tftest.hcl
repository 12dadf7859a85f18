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

run "aurora_reaches_onprem_on_the_mysql_port_only" {
  command = apply # against the mock provider: resolves the security group id the rules must use
  variables {
    onprem_cidrs = ["192.168.10.0/24", "172.16.5.0/24"]
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_egress_rule.db_to_onprem : r.cidr_ipv4]) == toset(["192.168.10.0/24", "172.16.5.0/24"])
    error_message = "Aurora's egress is exactly the on-premises CIDRs (it is a binlog replica of the source)"
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_egress_rule.db_to_onprem : r.ip_protocol == "tcp" && r.from_port == 3306 && r.to_port == 3306])
    error_message = "Aurora's egress is the MySQL port only"
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_egress_rule.db_to_onprem : r.security_group_id == aws_security_group.db.id])
    error_message = "the egress belongs to Aurora's security group"
  }
}

run "the_mysql_port_follows_db_port" {
  command = plan
  variables {
    db_port = 3307
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_egress_rule.db_to_onprem : r.from_port == 3307 && r.to_port == 3307]) && length(aws_vpc_security_group_egress_rule.db_to_onprem) == 1
    error_message = "Aurora's egress to on-premises uses db_port"
  }
}

run "no_onprem_cidrs_opens_nothing_to_onprem" {
  command = plan
  variables {
    onprem_cidrs = []
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.db_to_onprem) == 0 && length(aws_vpc_security_group_ingress_rule.db_from_onprem) == 0 && length(aws_vpc_security_group_egress_rule.dms_to_onprem) == 0
    error_message = "no on-premises CIDRs, no on-premises rules"
  }
}

run "aurora_egress_can_be_turned_off" {
  command = plan
  variables {
    db_egress_to_onprem = false
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.db_to_onprem) == 0 && length(aws_vpc_security_group_ingress_rule.db_from_onprem) == 1
    error_message = "db_egress_to_onprem = false removes Aurora's egress only (the reverse stream still connects in)"
  }
}

run "the_runner_may_publish_run_failures_to_the_alert_topic_only" {
  command = apply # against the mock provider: the policy document's statements are known
  variables {
    alert_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:mig-test-migration-alarms"
    alert_topic_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/99999999-2222-3333-4444-555555555555"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.runner.statement : [s.actions, s.resources] if s.sid == "PublishRunFailures"] == [[toset(["sns:Publish"]), toset(["arn:aws:sns:eu-west-1:111122223333:mig-test-migration-alarms"])]]
    error_message = "sns:Publish on the alert topic and on nothing else"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.runner.statement : [s.actions, s.resources] if s.sid == "EncryptRunFailuresForTheTopic"] == [[toset(["kms:GenerateDataKey", "kms:Decrypt"]), toset(["arn:aws:kms:eu-west-1:111122223333:key/99999999-2222-3333-4444-555555555555"])]]
    error_message = "kms:GenerateDataKey and kms:Decrypt on the topic's key and on nothing else"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.runner.statement : [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"] if s.sid == "EncryptRunFailuresForTheTopic"] == [["StringEquals kms:ViaService sns.eu-west-1.amazonaws.com"]]
    error_message = "the topic's key is usable through SNS only"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.runner.statement : s if contains(s.actions, "sns:Publish") || contains(s.actions, "kms:GenerateDataKey")]) == 2
    error_message = "no other statement grants Publish or data keys"
  }
}

run "without_an_alert_topic_the_runner_publishes_nothing" {
  command = apply
  assert {
    condition     = length([for s in data.aws_iam_policy_document.runner.statement : s if contains(s.actions, "sns:Publish") || contains(s.actions, "kms:GenerateDataKey")]) == 0
    error_message = "no alert topic, no sns:Publish and no data keys"
  }
}

run "a_key_alias_for_the_alert_topic_is_refused" {
  command = plan
  variables {
    alert_topic_kms_key_arn = "alias/mig-test-alarms"
  }
  expect_failures = [var.alert_topic_kms_key_arn]
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
