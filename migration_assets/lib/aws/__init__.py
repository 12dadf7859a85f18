"""AWS operations that are not Terraform's: one-off recovery actions through boto3."""
