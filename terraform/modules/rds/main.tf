################################################################################
# Aurora MySQL 3: encrypted, private, backed up, IAM auth, Performance Insights,
# logs exported, master password managed by Secrets Manager (never in state).
################################################################################

data "aws_partition" "current" {}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

################################################################################
# Parameter groups
################################################################################

locals {
  # binlog_format is static: the writer applies it at its next reboot. With the binlog on, a
  # non-SUPER account (Aurora grants none) can create functions and triggers only when
  # log_bin_trust_function_creators is set.
  binlog_parameters = var.binlog_for_reverse_replication ? [
    { name = "binlog_format", value = "ROW", apply_method = "pending-reboot" },
    { name = "binlog_row_image", value = "FULL", apply_method = "pending-reboot" },
    { name = "log_bin_trust_function_creators", value = "1", apply_method = "immediate" },
    ] : [
    { name = "binlog_format", value = "OFF", apply_method = "pending-reboot" },
  ]
}

resource "aws_rds_cluster_parameter_group" "this" {
  name   = "${var.name}-cluster"
  family = "aurora-mysql8.0"
  # The description forces a new group when it changes (and a group in use cannot be
  # replaced), so it does not follow binlog_for_reverse_replication.
  description = "${var.name}: row binlog for reverse replication, TLS only, utf8mb4, ${var.time_zone}"

  # The binary log feeds the reverse stream (on-prem replicates Aurora) for a rollback after
  # cutover; OFF spares Aurora writing it once the rollback window is over.
  dynamic "parameter" {
    for_each = local.binlog_parameters
    content {
      name         = parameter.value.name
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }
  parameter {
    name  = "require_secure_transport"
    value = "ON"
  }
  parameter {
    name  = "character_set_server"
    value = "utf8mb4"
  }
  # The collation a table created without COLLATE gets: the same as the database `schema
  # migrate` creates and the source's default, or such tables sort and compare differently.
  parameter {
    name  = "collation_server"
    value = var.collation_server
  }
  parameter {
    name  = "time_zone"
    value = var.time_zone
  }
  parameter {
    name  = "server_audit_logging"
    value = "1"
  }
  parameter {
    name  = "server_audit_events"
    value = "CONNECT,QUERY_DCL,QUERY_DDL"
  }

  tags = var.tags
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-instance"
  family      = "aurora-mysql8.0"
  description = "${var.name}: instance parameters"

  # local_infile is an instance-level parameter in Aurora MySQL 3 (off by default, as in
  # MySQL 8): the full load copies with LOAD DATA LOCAL; with it off, rows go by multi-row
  # INSERT, several times slower. Dynamic: applies without a reboot.
  parameter {
    name         = "local_infile"
    value        = var.local_infile ? "1" : "0"
    apply_method = "immediate"
  }

  tags = var.tags
}

################################################################################
# Cluster
################################################################################

resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV_AWS_326:Backtrack rewinds the cluster in place, which would silently desynchronize the binlog that feeds reverse replication; recovery is point-in-time restore from backups.
  #checkov:skip=CKV2_AWS_8:Automated backups with point-in-time recovery are configured here (backup_retention_days); an AWS Backup plan is an organisation-level policy outside this module.
  cluster_identifier = var.name
  engine             = "aurora-mysql"
  engine_version     = var.engine_version
  database_name      = var.database_name
  master_username    = var.master_username

  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = var.security_group_ids
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this.name

  storage_encrypted = true
  kms_key_id        = var.kms_key_arn

  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = var.log_exports

  backup_retention_period   = var.backup_retention_days
  preferred_backup_window   = var.preferred_backup_window
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : "${var.name}-final"

  tags = var.tags
}

################################################################################
# Instances: a writer and var.reader_count readers
################################################################################

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

locals {
  instance_settings = {
    instance_class             = var.instance_class
    publicly_accessible        = false
    auto_minor_version_upgrade = true
  }
}

# The writer is created first and on its own: Aurora makes the first instance that becomes
# available the writer, so readers created alongside it could take that role by chance.
resource "aws_rds_cluster_instance" "writer" {
  identifier              = "${var.name}-writer"
  cluster_identifier      = aws_rds_cluster.this.id
  engine                  = aws_rds_cluster.this.engine
  engine_version          = aws_rds_cluster.this.engine_version
  instance_class          = local.instance_settings.instance_class
  db_parameter_group_name = aws_db_parameter_group.this.name
  promotion_tier          = 0

  publicly_accessible        = local.instance_settings.publicly_accessible
  auto_minor_version_upgrade = local.instance_settings.auto_minor_version_upgrade

  performance_insights_enabled    = true
  performance_insights_kms_key_id = var.kms_key_arn

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = var.tags
}

resource "aws_rds_cluster_instance" "reader" {
  count = var.reader_count

  identifier              = "${var.name}-reader-${count.index + 1}"
  cluster_identifier      = aws_rds_cluster.this.id
  engine                  = aws_rds_cluster.this.engine
  engine_version          = aws_rds_cluster.this.engine_version
  instance_class          = local.instance_settings.instance_class
  db_parameter_group_name = aws_db_parameter_group.this.name
  promotion_tier          = count.index + 1

  publicly_accessible        = local.instance_settings.publicly_accessible
  auto_minor_version_upgrade = local.instance_settings.auto_minor_version_upgrade

  performance_insights_enabled    = true
  performance_insights_kms_key_id = var.kms_key_arn

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = var.tags

  depends_on = [aws_rds_cluster_instance.writer]
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "cpu" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-aurora-cpu"
  alarm_description   = "Aurora writer CPU above ${var.cpu_alarm_percent}% for 10 minutes"
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBClusterIdentifier = aws_rds_cluster.this.id, Role = "WRITER" }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.cpu_alarm_percent
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = compact([var.alarm_topic_arn])
  ok_actions          = compact([var.alarm_topic_arn])

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "replica_lag" {
  count = var.create_alarms && var.reader_count > 0 ? 1 : 0

  alarm_name          = "${var.name}-aurora-replica-lag"
  alarm_description   = "Aurora replica lag above ${var.replica_lag_alarm_ms} ms"
  namespace           = "AWS/RDS"
  metric_name         = "AuroraReplicaLagMaximum"
  dimensions          = { DBClusterIdentifier = aws_rds_cluster.this.id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.replica_lag_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = compact([var.alarm_topic_arn])
  ok_actions          = compact([var.alarm_topic_arn])

  tags = var.tags
}
