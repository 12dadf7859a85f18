mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name               = "mig-test"
  subnet_ids         = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  security_group_ids = ["sg-0aaaaaaaaaaaaaaaa"]
  kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn    = "arn:aws:sns:eu-west-1:111122223333:alarms"
}

run "secure_defaults" {
  command = plan

  assert {
    condition     = aws_rds_cluster.this.storage_encrypted && aws_rds_cluster.this.kms_key_id == var.kms_key_arn
    error_message = "storage must be encrypted with the customer key"
  }
  assert {
    condition     = aws_rds_cluster.this.deletion_protection && !aws_rds_cluster.this.skip_final_snapshot
    error_message = "deletion protection and a final snapshot are on by default"
  }
  assert {
    condition     = aws_rds_cluster.this.manage_master_user_password && aws_rds_cluster.this.master_password == null
    error_message = "the master password is managed by Secrets Manager, never in state"
  }
  assert {
    condition     = aws_rds_cluster.this.iam_database_authentication_enabled
    error_message = "IAM database authentication must be on"
  }
  assert {
    condition     = toset(aws_rds_cluster.this.enabled_cloudwatch_logs_exports) == toset(["audit", "error", "slowquery"])
    error_message = "audit, error and slowquery logs are exported"
  }
  assert {
    condition     = aws_rds_cluster.this.backup_retention_period == 14
    error_message = "backups are kept 14 days by default"
  }
  assert {
    condition     = length(aws_rds_cluster_instance.reader) == 1 && alltrue([for i in concat([aws_rds_cluster_instance.writer], aws_rds_cluster_instance.reader) : !i.publicly_accessible && i.performance_insights_enabled])
    error_message = "a writer and one reader, private, with Performance Insights"
  }
  assert {
    condition = alltrue([for p in ["binlog_format=ROW", "require_secure_transport=ON", "character_set_server=utf8mb4", "time_zone=UTC"] :
    contains([for q in aws_rds_cluster_parameter_group.this.parameter : "${q.name}=${q.value}"], p)])
    error_message = "row binlog, TLS only, utf8mb4 and UTC in the cluster parameter group"
  }
  assert {
    condition = alltrue([for p in ["binlog_format=ROW", "binlog_row_image=FULL", "log_bin_trust_function_creators=1"] :
    contains([for q in aws_rds_cluster_parameter_group.this.parameter : "${q.name}=${q.value}"], p)])
    error_message = "the binlog is on by default, in ROW format with full row images, for the reverse stream"
  }
  assert {
    condition     = output.binlog_retention_sql == "CALL mysql.rds_set_configuration('binlog retention hours', 24);"
    error_message = "binlog retention is 24 hours by default, set by the SQL the module outputs"
  }
  assert {
    condition = alltrue([for p in ["character_set_server=utf8mb4", "collation_server=utf8mb4_unicode_ci"] :
    contains([for q in aws_rds_cluster_parameter_group.this.parameter : "${q.name}=${q.value}"], p)])
    error_message = "utf8mb4 with the collation schema migrate gives a database whose source's is unknown"
  }
  assert {
    condition     = [for q in aws_db_parameter_group.this.parameter : q.value if q.name == "local_infile"] == ["1"]
    error_message = "local_infile=1 (an instance-level parameter) lets the full load use LOAD DATA LOCAL"
  }
  assert {
    condition     = length([for q in aws_rds_cluster_parameter_group.this.parameter : q if q.name == "local_infile"]) == 0
    error_message = "local_infile is set in the instance parameter group only"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.cpu) == 1 && length(aws_cloudwatch_metric_alarm.replica_lag) == 1
    error_message = "CPU and replica-lag alarms go to the topic"
  }
}

run "an_environment_may_turn_protection_off" {
  command = plan
  variables {
    deletion_protection = false
    skip_final_snapshot = true
    reader_count        = 0
  }
  assert {
    condition     = !aws_rds_cluster.this.deletion_protection && aws_rds_cluster.this.final_snapshot_identifier == null
    error_message = "protection off only when the environment says so"
  }
  assert {
    condition     = length(aws_rds_cluster_instance.reader) == 0 && length(aws_cloudwatch_metric_alarm.replica_lag) == 0
    error_message = "writer only, so no replica-lag alarm"
  }
}

run "aurora_mysql_2_is_refused" {
  command = plan
  variables {
    engine_version = "5.7.mysql_aurora.2.11.2"
  }
  expect_failures = [var.engine_version]
}

run "too_many_readers_are_refused" {
  command = plan
  variables {
    reader_count = 16
  }
  expect_failures = [var.reader_count]
}

run "no_backups_is_refused" {
  command = plan
  variables {
    backup_retention_days = 0
  }
  expect_failures = [var.backup_retention_days]
}

run "one_subnet_is_refused" {
  command = plan
  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa"]
  }
  expect_failures = [var.subnet_ids]
}

run "the_binlog_may_be_turned_off_after_the_rollback_window" {
  command = plan
  variables {
    binlog_for_reverse_replication = false
  }
  assert {
    condition     = [for q in aws_rds_cluster_parameter_group.this.parameter : q.value if q.name == "binlog_format"] == ["OFF"]
    error_message = "binlog_format is OFF when the reverse stream is not needed"
  }
  assert {
    condition     = length([for q in aws_rds_cluster_parameter_group.this.parameter : q if contains(["binlog_row_image", "log_bin_trust_function_creators"], q.name)]) == 0
    error_message = "no binlog settings with the binlog off"
  }
  assert {
    condition     = output.binlog_retention_sql == null
    error_message = "no retention to set with the binlog off"
  }
  assert {
    condition     = contains([for q in aws_rds_cluster_parameter_group.this.parameter : "${q.name}=${q.value}"], "require_secure_transport=ON")
    error_message = "the other cluster parameters stay"
  }
}

run "binlog_retention_follows_the_variable" {
  command = plan
  variables {
    binlog_retention_hours = 168
  }
  assert {
    condition     = output.binlog_retention_sql == "CALL mysql.rds_set_configuration('binlog retention hours', 168);"
    error_message = "the retention SQL carries binlog_retention_hours"
  }
}

run "binlog_retention_beyond_90_days_is_refused" {
  command = plan
  variables {
    binlog_retention_hours = 2161
  }
  expect_failures = [var.binlog_retention_hours]
}

run "fractional_binlog_retention_is_refused" {
  command = plan
  variables {
    binlog_retention_hours = 1.5
  }
  expect_failures = [var.binlog_retention_hours]
}

run "the_collation_follows_the_source" {
  command = plan
  variables {
    collation_server = "utf8mb4_0900_ai_ci"
    local_infile     = false
  }
  assert {
    condition     = [for q in aws_rds_cluster_parameter_group.this.parameter : q.value if q.name == "collation_server"] == ["utf8mb4_0900_ai_ci"]
    error_message = "collation_server carries the variable"
  }
  assert {
    condition     = [for q in aws_db_parameter_group.this.parameter : q.value if q.name == "local_infile"] == ["0"]
    error_message = "local_infile may be turned off (the load then copies by INSERT)"
  }
}

run "a_collation_of_another_character_set_is_refused" {
  command = plan
  variables {
    collation_server = "latin1_swedish_ci"
  }
  expect_failures = [var.collation_server]
}
