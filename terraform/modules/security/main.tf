################################################################################
# Security: one customer KMS key, security groups, IAM roles and policies and the
# endpoint credential secrets. Least privilege throughout. (The alarm topic and its
# key are the monitoring module's; the runner policy may publish to it.)
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

################################################################################
# KMS
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; write access is limited to this account and to services acting for it.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource means this key only.
  #checkov:skip=CKV_AWS_109:The account root must administer the key (AWS's default key policy), or the key becomes unmanageable.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "ServicesUseForEncryption"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: Aurora storage, secrets, DMS, logs and alarms"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Security groups: MySQL into Aurora only from DMS, the applications and on-prem;
# MySQL out of Aurora only to on-prem (Aurora as a binlog replica of the source)
################################################################################

resource "aws_security_group" "db" {
  #checkov:skip=CKV2_AWS_5:Attached to the Aurora cluster by the rds module (outside this module's view).
  # The description is kept as first applied (a new one replaces the group); egress is below.
  name        = "${var.name}-aurora"
  description = "Aurora MySQL: MySQL from DMS, the applications and on-premises only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-aurora" })
}

resource "aws_security_group" "dms" {
  #checkov:skip=CKV2_AWS_5:Attached to the DMS replication instance by the dms module (outside this module's view).
  name        = "${var.name}-dms"
  description = "DMS replication instance: MySQL out to the source and to Aurora"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dms" })
}

resource "aws_vpc_security_group_ingress_rule" "db_from_dms" {
  security_group_id            = aws_security_group.db.id
  description                  = "MySQL from the DMS replication instance"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.dms.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_apps" {
  for_each = toset(var.app_security_group_ids)

  security_group_id            = aws_security_group.db.id
  description                  = "MySQL from an application security group"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "db_from_onprem" {
  for_each = toset(var.onprem_cidrs)

  security_group_id = aws_security_group.db.id
  description       = "MySQL from on-premises ${each.value}"
  ip_protocol       = "tcp"
  from_port         = var.db_port
  to_port           = var.db_port
  cidr_ipv4         = each.value
}

# Aurora as a binlog replica of the on-premises source (`replication` change capture) opens
# the connection itself: without this rule `rds_start_replication` never connects. The
# rollback's reverse stream is the other way round (on-premises connects in, db_from_onprem).
resource "aws_vpc_security_group_egress_rule" "db_to_onprem" {
  for_each = toset(var.db_egress_to_onprem ? var.onprem_cidrs : [])

  security_group_id = aws_security_group.db.id
  description       = "MySQL to the on-premises source ${each.value} (Aurora as its binlog replica)"
  ip_protocol       = "tcp"
  from_port         = var.db_port
  to_port           = var.db_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "dms_to_db" {
  security_group_id            = aws_security_group.dms.id
  description                  = "MySQL to Aurora"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_vpc_security_group_egress_rule" "dms_to_onprem" {
  for_each = toset(var.onprem_cidrs)

  security_group_id = aws_security_group.dms.id
  description       = "MySQL to the on-premises source ${each.value}"
  ip_protocol       = "tcp"
  from_port         = var.db_port
  to_port           = var.db_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "dms_to_endpoints" {
  security_group_id = aws_security_group.dms.id
  description       = "HTTPS to the VPC interface endpoints (Secrets Manager, KMS)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr_block
}

################################################################################
# Secrets: the source credentials (value set out of band, never in state)
################################################################################

resource "aws_secretsmanager_secret" "source" {
  #checkov:skip=CKV2_AWS_57:The on-premises password is owned and rotated by the source DBA; a Lambda here could not reach it.
  name        = "${var.name}/source-mysql"
  description = "On-premises MySQL credentials for DMS (JSON: username, password, host, port); set the value with the CLI, not Terraform"
  kms_key_id  = aws_kms_key.this.arn

  tags = var.tags
}

resource "aws_secretsmanager_secret" "target_dms" {
  #checkov:skip=CKV2_AWS_57:Holds the DMS user of the target, rotated by the migration runbook after cutover; DMS must be stopped for a rotation.
  name        = "${var.name}/target-mysql-dms"
  description = "Aurora credentials of the DMS user (JSON: username, password, host, port); set the value with the CLI, not Terraform"
  kms_key_id  = aws_kms_key.this.arn

  tags = var.tags
}

################################################################################
# IAM roles DMS requires (fixed, account-wide names)
################################################################################

data "aws_iam_policy_document" "dms_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dms_vpc" {
  count = var.create_dms_service_roles ? 1 : 0

  name               = "dms-vpc-role"
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "dms_vpc" {
  count = var.create_dms_service_roles ? 1 : 0

  role       = aws_iam_role.dms_vpc[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
}

resource "aws_iam_role" "dms_cloudwatch" {
  count = var.create_dms_service_roles ? 1 : 0

  name               = "dms-cloudwatch-logs-role"
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "dms_cloudwatch" {
  count = var.create_dms_service_roles ? 1 : 0

  role       = aws_iam_role.dms_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"
}

# DMS endpoints read their credentials from Secrets Manager through this role.
data "aws_iam_policy_document" "dms_secrets_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.${local.region}.amazonaws.com", "dms.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dms_secrets" {
  name               = "${var.name}-dms-secrets"
  assume_role_policy = data.aws_iam_policy_document.dms_secrets_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "dms_secrets" {
  statement {
    sid       = "ReadEndpointSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.source.arn, aws_secretsmanager_secret.target_dms.arn]
  }
  statement {
    sid       = "DecryptThem"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "dms_secrets" {
  name   = "read-endpoint-secrets"
  role   = aws_iam_role.dms_secrets.id
  policy = data.aws_iam_policy_document.dms_secrets.json
}

################################################################################
# The migration runner (Dagster code location): connect, drive DMS, read secrets
################################################################################

data "aws_iam_policy_document" "runner" {
  dynamic "statement" {
    for_each = var.aurora_cluster_resource_id == null ? [] : [1]
    content {
      sid       = "ConnectWithIamAuth"
      actions   = ["rds-db:connect"]
      resources = ["arn:${local.partition}:rds-db:${local.region}:${local.account_id}:dbuser:${var.aurora_cluster_resource_id}/${var.runner_db_user}"]
    }
  }

  dynamic "statement" {
    for_each = var.aurora_cluster_arn == null ? [] : [1]
    content {
      sid       = "DescribeTheCluster"
      actions   = ["rds:DescribeDBClusters", "rds:DescribeDBInstances"]
      resources = [var.aurora_cluster_arn]
    }
  }

  dynamic "statement" {
    for_each = var.dms_task_arn == null ? [] : [1]
    content {
      sid       = "DriveTheReplicationTask"
      actions   = ["dms:StartReplicationTask", "dms:StopReplicationTask", "dms:DescribeTableStatistics"]
      resources = [var.dms_task_arn]
    }
  }

  dynamic "statement" {
    # Describe calls and CloudWatch reads take no resource-level permission: "*" is the only
    # resource they accept (read-only; the change_stream_sensor's status and CDC latency).
    for_each = var.dms_task_arn == null ? [] : [1]
    content {
      sid       = "WatchTheReplicationTask"
      actions   = ["dms:DescribeReplicationTasks", "dms:DescribeReplicationInstances", "cloudwatch:GetMetricStatistics"]
      resources = ["*"]
    }
  }

  statement {
    sid       = "ReadMigrationSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = compact([aws_secretsmanager_secret.source.arn, var.aurora_master_secret_arn])
  }

  statement {
    sid       = "DecryptMigrationSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  # The run-failure sensor (defs/monitoring/sensors.py) publishes to DBMIGRATE_ALERT_SNS_TOPIC_ARN,
  # the monitoring module's topic: Publish on that topic only.
  dynamic "statement" {
    for_each = var.alert_topic_arn == null ? [] : [1]
    content {
      sid       = "PublishRunFailures"
      actions   = ["sns:Publish"]
      resources = [var.alert_topic_arn]
    }
  }

  # An encrypted topic takes a message only from a publisher that may make a data key with the
  # topic's key (else Publish fails with KMS.AccessDeniedException); only through SNS.
  dynamic "statement" {
    for_each = var.alert_topic_kms_key_arn == null ? [] : [1]
    content {
      sid       = "EncryptRunFailuresForTheTopic"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.alert_topic_kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sns.${split(":", var.alert_topic_kms_key_arn)[3]}.amazonaws.com"] # the key's (and topic's) region
      }
    }
  }
}

resource "aws_iam_policy" "runner" {
  name        = "${var.name}-migration-runner"
  description = "What the migration runner needs, on these resources only"
  policy      = data.aws_iam_policy_document.runner.json
  tags        = var.tags
}
