################################################################################
# dev: VPC, security, Aurora MySQL 3, DMS, monitoring and (optionally) the VPN
# from on-premises
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
  interface_endpoints  = var.vpc_interface_endpoints
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
  # The run-failure sensor publishes to the alarm topic (DBMIGRATE_ALERT_SNS_TOPIC_ARN).
  alert_topic_arn         = module.monitoring.topic_arn
  alert_topic_kms_key_arn = module.monitoring.topic_kms_key_arn
  tags                    = local.tags
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
  create_alarms       = false # the monitoring module watches every instance

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
  create_alarms           = false # the monitoring module watches the task

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

module "monitoring" {
  source = "../../modules/monitoring"

  name            = local.name
  email_endpoints = var.alarm_email_endpoints
  https_endpoint  = var.alarm_https_endpoint
  thresholds      = var.alarm_thresholds

  aurora_instances = zipmap(
    concat(["writer"], [for i in range(var.aurora_reader_count) : "reader-${i + 1}"]),
    module.rds.instance_ids,
  )
  # CloudWatch's dimensions: the instance's identifier and the task's ARN (its resource ID).
  dms_tasks = var.enable_dms ? {
    cdc = { replication_instance_id = module.dms[0].replication_instance_id, task_arn = module.dms[0].replication_task_arn }
  } : {}
  dms_replication_instances = var.enable_dms ? { instance = module.dms[0].replication_instance_id } : {}

  tags = local.tags
}

module "onprem_vpn" {
  source = "../../modules/onprem_vpn"
  count  = var.onprem_vpn.enabled ? 1 : 0

  name                           = local.name
  vpc_id                         = module.vpc.vpc_id
  onprem_cidrs                   = var.onprem_cidrs
  customer_gateway               = { ip_address = var.onprem_vpn.customer_gateway_ip, bgp_asn = var.onprem_vpn.bgp_asn }
  gateway_type                   = var.onprem_vpn.gateway_type
  transit_gateway_id             = var.onprem_vpn.transit_gateway_id
  transit_gateway_vpc_subnet_ids = var.onprem_vpn.gateway_type == "transit_gateway" && var.onprem_vpn.attach_vpc_to_transit_gateway ? module.vpc.private_subnet_ids : []
  route_table_ids                = [module.vpc.private_route_table_id]

  # The security module already opens MySQL for var.onprem_cidrs in all three directions
  # (on-premises -> Aurora, DMS -> on-premises, Aurora -> on-premises), with or without this
  # VPN; EC2 refuses the same rule twice, so the VPN adds none.
  egress_to_onprem_security_group_ids    = {}
  ingress_from_onprem_security_group_ids = {}

  tags = local.tags
}
