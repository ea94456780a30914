"""Deployment to one small EC2 instance: CloudFormation template, systemd units, install script."""
