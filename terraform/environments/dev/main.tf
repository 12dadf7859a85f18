################################################################################
# dev: VPC, security, Aurora MySQL 3 and DMS for the migration
################################################################################

locals {
  name = "migration-${var.environment}"
  tags = { Component = "mysql-to-aurora" }
}

module "vpc" {
  source = "../../modules/vpc"

  name                 = local.name
  cidr_block           = var.vpc_cidr
  azs                  = var.azs
  private_subnet_cidrs = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 8, i)]
  kms_key_arn          = module.security.kms_key_arn
  tags                 = local.tags
}

module "security" {
  source = "../../modules/security"

  name                       = local.name
  vpc_id                     = module.vpc.vpc_id
  vpc_cidr_block             = module.vpc.vpc_cidr_block
  onprem_cidrs               = var.onprem_cidrs
  app_security_group_ids     = var.app_security_group_ids
  create_dms_service_roles   = var.create_dms_service_roles
  aurora_cluster_arn         = module.rds.cluster_arn
  aurora_cluster_resource_id = module.rds.cluster_resource_id
  aurora_master_secret_arn   = module.rds.master_user_secret_arn
  dms_task_arn               = var.enable_dms ? module.dms[0].replication_task_arn : null
  tags                       = local.tags
}

module "rds" {
  source = "../../modules/rds"

  name                = local.name
  database_name       = var.database_name
  instance_class      = var.aurora_instance_class
  reader_count        = var.aurora_reader_count
  subnet_ids          = module.vpc.private_subnet_ids
  security_group_ids  = [module.security.db_security_group_id]
  kms_key_arn         = module.security.kms_key_arn
  deletion_protection = var.deletion_protection
  skip_final_snapshot = var.skip_final_snapshot
  alarm_topic_arn     = module.security.alarm_topic_arn

  collation_server               = var.aurora_collation_server
  binlog_for_reverse_replication = var.aurora_binlog_for_rollback
  binlog_retention_hours         = var.aurora_binlog_retention_hours
  tags                           = local.tags
}

module "dms" {
  source = "../../modules/dms"
  count  = var.enable_dms ? 1 : 0

  name                    = local.name
  subnet_ids              = module.vpc.private_subnet_ids
  security_group_ids      = [module.security.dms_security_group_id]
  kms_key_arn             = module.security.kms_key_arn
  instance_class          = var.dms_instance_class
  multi_az                = var.dms_multi_az
  secrets_access_role_arn = module.security.dms_secrets_role_arn
  alarm_topic_arn         = module.security.alarm_topic_arn

  source_endpoint = {
    secret_arn = module.security.source_secret_arn
    ca_pem     = var.source_ca_pem
  }
  target_endpoint = {
    database_name = var.database_name
    secret_arn    = module.security.target_dms_secret_arn
    ca_pem        = var.rds_ca_pem
  }

  # Generated from db/catalog.json by `dbmigrate dms mappings`; a test keeps them in step.
  table_mappings_json = file("${path.module}/dms/table-mappings.json")
  task_settings_json  = file("${path.module}/dms/task-settings.json")

  tags = local.tags
}
