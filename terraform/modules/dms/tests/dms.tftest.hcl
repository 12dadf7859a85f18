mock_provider "aws" {}

variables {
  name                    = "mig-test"
  subnet_ids              = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  security_group_ids      = ["sg-0aaaaaaaaaaaaaaaa"]
  kms_key_arn             = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  secrets_access_role_arn = "arn:aws:iam::111122223333:role/dms-secrets"
  alarm_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:alarms"
  source_endpoint = {
    secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:source-AbCdEf"
    ca_pem     = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  }
  target_endpoint = {
    database_name = "shop"
    secret_arn    = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:target-AbCdEf"
    ca_pem        = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  }
  table_mappings_json = "{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\", \"rule-name\": \"all\", \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"%\"}, \"rule-action\": \"include\"}]}"
  task_settings_json  = "{\"ValidationSettings\": {\"EnableValidation\": true}}"
}

run "private_encrypted_tls_everywhere" {
  command = plan

  assert {
    condition     = !aws_dms_replication_instance.this.publicly_accessible && aws_dms_replication_instance.this.kms_key_arn == var.kms_key_arn
    error_message = "the replication instance is private and encrypted"
  }
  assert {
    condition     = aws_dms_endpoint.source.ssl_mode == "verify-full" && aws_dms_endpoint.target.ssl_mode == "verify-full"
    error_message = "both endpoints verify the server certificate"
  }
  assert {
    condition     = aws_dms_endpoint.source.secrets_manager_arn == var.source_endpoint.secret_arn && aws_dms_endpoint.source.password == null
    error_message = "credentials come from Secrets Manager, never from variables"
  }
  assert {
    condition     = aws_dms_endpoint.target.engine_name == "aurora" && aws_dms_endpoint.source.engine_name == "mysql"
    error_message = "MySQL to Aurora"
  }
  assert {
    condition     = aws_dms_replication_task.this.migration_type == "cdc" && !aws_dms_replication_task.this.start_replication_task
    error_message = "a CDC-only task (the full load is Dagster's) that an apply does not start"
  }
  assert {
    condition     = toset([for a in aws_cloudwatch_metric_alarm.this : a.metric_name]) == toset(["CDCLatencySource", "CDCLatencyTarget", "CPUUtilization", "FreeableMemory"])
    error_message = "CDC latency and instance alarms exist"
  }
  assert {
    condition     = aws_dms_replication_instance.this.multi_az
    error_message = "Multi-AZ by default"
  }
}

run "a_certificate_that_is_not_pem_is_refused" {
  command = plan
  variables {
    source_endpoint = {
      secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:source-AbCdEf"
      ca_pem     = "not a certificate"
    }
  }
  expect_failures = [var.source_endpoint]
}

run "mappings_without_rules_are_refused" {
  command = plan
  variables {
    table_mappings_json = "{}"
  }
  expect_failures = [var.table_mappings_json]
}

run "a_non_dms_instance_class_is_refused" {
  command = plan
  variables {
    instance_class = "db.r6g.large"
  }
  expect_failures = [var.instance_class]
}
