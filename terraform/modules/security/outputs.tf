output "kms_key_arn" {
  description = "ARN of the customer KMS key."
  value       = try(aws_kms_key.this.arn, null)
}

output "db_security_group_id" {
  description = "Security group of the Aurora cluster."
  value       = try(aws_security_group.db.id, null)
}

output "dms_security_group_id" {
  description = "Security group of the DMS replication instance."
  value       = try(aws_security_group.dms.id, null)
}

output "source_secret_arn" {
  description = "Secret holding the on-premises MySQL credentials (value set out of band)."
  value       = try(aws_secretsmanager_secret.source.arn, null)
}

output "dms_secrets_role_arn" {
  description = "Role DMS endpoints assume to read their secrets."
  value       = try(aws_iam_role.dms_secrets.arn, null)
}

output "dms_vpc_role_arn" {
  description = "The account's dms-vpc-role (null when not created here)."
  value       = try(aws_iam_role.dms_vpc[0].arn, null)
}

output "runner_policy_arn" {
  description = "IAM policy to attach to the migration runner's role."
  value       = try(aws_iam_policy.runner.arn, null)
}

output "target_dms_secret_arn" {
  description = "Secret holding the Aurora credentials of the DMS user (value set out of band)."
  value       = try(aws_secretsmanager_secret.target_dms.arn, null)
}
