# Remote state in S3 with DynamoDB locking, configured per environment at init:
#   terraform init -backend-config=backend.hcl      (see backend.hcl.example)
# Tests run with a local backend instead (an override file they write).
terraform {
  backend "s3" {}
}
