"""Render ``deploy/cloudformation.json``, Daybreak's whole AWS stack, from code.

``python -m deploy.render_template`` rewrites the checked-in file; ``--check`` exits 1 when it is
stale (``tests/test_deploy.py`` does the same). The DynamoDB tables come from
:func:`storage.dynamo_schema.cloudformation_resources`, the one definition ``bot.py init-db`` uses
too; this module adds only deployment policy to them (retain on delete, optional PITR) and scopes
the instance role to exactly those tables and their indexes.

Stack: one EC2 instance (t4g.nano by default, Amazon Linux 2023 arm64 from the SSM public
parameter, IMDSv2 only, CPU credits "standard" so the bill cannot grow with CPU use), a security
group (TCP 22 and 8501 from ``TraderCidr`` only, HTTPS out only), a least-privilege role, the API
keys secret (empty placeholder, see deploy/README.md), a log group with retention, a log metric
filter on ERROR lines, alarms (status checks -> recover/reboot, stale bot heartbeat, ERROR lines)
to an SNS e-mail topic, and the tables. Costs are itemised in deploy/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from daybreak.exchange.secrets import SECRET_PLACEHOLDER
from daybreak.ops.heartbeat_metric import HEARTBEAT_METRIC
from storage.dynamo_schema import cloudformation_resources

TEMPLATE_PATH = Path(__file__).with_name("cloudformation.json")

AL2023_ARM64_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
DASHBOARD_PORT = 8501
NAMESPACE = "Daybreak/${AWS::StackName}"
"""CloudWatch namespace of the bot's metrics (an Fn::Sub string); the role may write only here."""
ERROR_METRIC = "ErrorLogLines"
ERROR_FILTER_PATTERN = "[time, level = ERROR || level = CRITICAL, ...]"
"""Space-delimited CloudWatch filter on daybreak.logs.FORMAT lines: ``<UTC time> <LEVEL> <message>``."""

DYNAMODB_ACTIONS = sorted(
    [
        # what storage/dynamodb.py and its batch writer call (tests/test_deploy.py records the calls)
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        # ``bot.py init-db`` on the stack's existing tables: describe only
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
    ]
)
"""What the instance may do to the Daybreak tables and their indexes. No Scan (but of the Signals
table, below), DeleteItem, CreateTable, DeleteTable or UpdateTable: the store deletes by
BatchWriteItem, and the tables belong to the stack."""
SIGNALS_TABLE = "SignalsTable"
"""The one table the bot scans: the Signals inbox, for rows another system wrote without a status
(they are in no index; finished rows expire, so the table stays small: docs/dynamodb.md)."""


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict:
    return {"Ref": name}


def parameters() -> dict[str, Any]:
    return {
        "TraderCidr": {
            "Type": "String",
            "Description": "Your public IP as a /32 (e.g. 203.0.113.7/32): the only source allowed on SSH (22) and the dashboard (8501)",
            "AllowedPattern": r"^(\d{1,3}\.){3}\d{1,3}/(3[0-2]|[12]?\d)$",
            "ConstraintDescription": "an IPv4 CIDR such as 203.0.113.7/32",
        },
        "AlarmEmail": {
            "Type": "String",
            "Description": "E-mail for alarms (confirm the subscription mail AWS sends)",
            "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            "ConstraintDescription": "an e-mail address",
        },
        "InstanceType": {
            "Type": "String",
            "Default": "t4g.nano",
            "AllowedValues": ["t4g.nano", "t4g.micro"],
            "Description": "t4g.nano keeps the stack under $10/month (see deploy/README.md); t4g.micro has 1 GiB RAM",
        },
        "KeyName": {
            "Type": "String",
            "Default": "",
            "Description": "Existing EC2 key pair for SSH (empty: no SSH key)",
        },
        "AmiId": {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": AL2023_ARM64_AMI,
            "Description": "Amazon Linux 2023 arm64, resolved from the SSM public parameter at deploy time",
        },
        "VpcId": {
            "Type": "AWS::EC2::VPC::Id",
            "Description": "VPC, e.g. your default VPC (deploy/README.md shows how to find it)",
        },
        "SubnetId": {
            "Type": "AWS::EC2::Subnet::Id",
            "Description": "A public subnet of VpcId that assigns public IPv4 (any default subnet does)",
        },
        "RepoUrl": {
            "Type": "String",
            "Default": "",
            "Description": "HTTPS git URL of your Daybreak code; empty: copy it yourself and run deploy/install.sh",
        },
        "RepoRef": {"Type": "String", "Default": "main", "Description": "Branch or tag of RepoUrl"},
        "TablePrefix": {
            "Type": "String",
            "Default": "Daybreak",
            "AllowedPattern": r"^[A-Za-z0-9_.-]{1,200}$",
            "Description": "DynamoDB table name prefix (config.json storage.table_prefix)",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 30,
            "AllowedValues": [7, 14, 30, 60, 90, 180, 365],
            "Description": "Days CloudWatch keeps the bot's log",
        },
        "HeartbeatMaxAgeSeconds": {
            "Type": "Number",
            "Default": 300,
            "MinValue": 60,
            "MaxValue": 3600,
            "Description": "Alarm when the bot's last heartbeat is older than this, seconds",
        },
        "DashboardAccess": {
            "Type": "String",
            "Default": "tls",
            "AllowedValues": ["tls", "ssm"],
            "Description": "tls: the dashboard on https://<ip>:8501 from TraderCidr, behind its login; ssm: no "
            "inbound dashboard port at all, reach it through AWS SSM port forwarding",
        },
        "EnablePointInTimeRecovery": {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["true", "false"],
            "Description": "DynamoDB PITR backups (about $0.20 per GB-month of table data)",
        },
    }


def conditions() -> dict[str, Any]:
    def nonempty(p: str) -> dict:
        return {"Fn::Not": [{"Fn::Equals": [_ref(p), ""]}]}

    return {
        "HasKeyName": nonempty("KeyName"),
        "PitrOn": {"Fn::Equals": [_ref("EnablePointInTimeRecovery"), "true"]},
        "DashboardOpen": {"Fn::Equals": [_ref("DashboardAccess"), "tls"]},
    }


def rules() -> dict[str, Any]:
    return {
        "SubnetInVpc": {
            "Assertions": [
                {
                    "Assert": {
                        "Fn::EachMemberEquals": [{"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", "VpcId"]}, _ref("VpcId")]
                    },
                    "AssertDescription": "SubnetId must be a subnet of VpcId",
                }
            ]
        }
    }


def table_resources() -> dict[str, Any]:
    """The schema's tables, retained when the stack is deleted, with optional PITR."""
    tables = cloudformation_resources(prefix_param="TablePrefix")
    for res in tables.values():
        if res.get("Type") != "AWS::DynamoDB::Table":
            continue
        res.setdefault("DeletionPolicy", "Retain")
        res.setdefault("UpdateReplacePolicy", "Retain")
        res["Properties"].setdefault(
            "PointInTimeRecoverySpecification", {"PointInTimeRecoveryEnabled": {"Fn::If": ["PitrOn", True, False]}}
        )
    return tables


def table_ids(tables: dict[str, Any]) -> list[str]:
    return [name for name, res in tables.items() if res.get("Type") == "AWS::DynamoDB::Table"]


SESSION_MANAGER_ACTIONS = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def instance_policy(tables: dict[str, Any]) -> dict[str, Any]:
    """The role's only policy: these tables and indexes, this secret, this log group, this namespace."""
    table_arns: list[Any] = []
    for name in table_ids(tables):
        table_arns += [{"Fn::GetAtt": [name, "Arn"]}, _sub(f"${{{name}.Arn}}/index/*")]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DaybreakTables", "Effect": "Allow", "Action": DYNAMODB_ACTIONS, "Resource": table_arns},
            {
                "Sid": "SignalsInboxScan",
                "Effect": "Allow",
                "Action": ["dynamodb:Scan"],
                "Resource": [{"Fn::GetAtt": [SIGNALS_TABLE, "Arn"]}],
            },
            {
                "Sid": "ApiKeysSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [_ref("ApiKeysSecret")],
            },
            {
                "Sid": "ShipLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": [{"Fn::GetAtt": ["LogGroup", "Arn"]}],
            },
            {
                "Sid": "BotMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": _sub(NAMESPACE)}},
            },
            # SSM Session Manager (port forwarding to the dashboard with no inbound port): the minimal
            # instance policy of the Session Manager guide; these actions have no resource-level permissions
            {"Sid": "SessionManager", "Effect": "Allow", "Action": SESSION_MANAGER_ACTIONS, "Resource": "*"},
        ],
    }


def user_data() -> dict[str, Any]:
    """First boot: write the stack's values for install.sh, then install from RepoUrl if given.

    Services are installed and enabled but the bot is not started: the trader fills the secret and
    runs ``init-db`` first (deploy/README.md). Output goes to /var/log/daybreak-bootstrap.log.
    """
    script = "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            "exec >>/var/log/daybreak-bootstrap.log 2>&1",
            "install -d -m 0755 /etc/daybreak",
            "cat >/etc/daybreak/stack.env <<'EOF'",
            "# Written by the CloudFormation stack ${AWS::StackName}; deploy/install.sh reads it. Do not edit.",
            "AWS_DEFAULT_REGION=${AWS::Region}",
            "DAYBREAK_SECRET_ID=${ApiKeysSecret}",
            "DAYBREAK_TABLE_PREFIX=${TablePrefix}",
            "DAYBREAK_LOG_GROUP=${LogGroup}",
            f"DAYBREAK_METRIC_NAMESPACE={NAMESPACE}",
            "EOF",
            "dnf install -y -q git",
            "if [ -n '${RepoUrl}' ]; then",
            "  rm -rf /root/daybreak-src",
            "  git clone --depth 1 --branch '${RepoRef}' '${RepoUrl}' /root/daybreak-src",
            "  /root/daybreak-src/deploy/install.sh",
            "fi",
            "",
        ]
    )
    return {"Fn::Base64": _sub(script)}


def _alarm(name: str, description: str, metric: dict[str, Any], actions: list[Any], **extra: Any) -> dict[str, Any]:
    props = {
        "AlarmName": _sub(f"${{AWS::StackName}}-{name}"),
        "AlarmDescription": description,
        **metric,
        "AlarmActions": actions,
        "OKActions": [_ref("AlarmTopic")],
        **extra,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def alarms() -> dict[str, Any]:
    topic = _ref("AlarmTopic")
    ec2 = {
        "Namespace": "AWS/EC2",
        "Dimensions": [{"Name": "InstanceId", "Value": _ref("Instance")}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 2,
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    return {
        "SystemCheckRecoverAlarm": _alarm(
            "recover",
            "AWS host problem (system status check failed): recover the instance onto healthy hardware",
            {**ec2, "MetricName": "StatusCheckFailed_System"},
            [_sub("arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover"), topic],
        ),
        "InstanceCheckRebootAlarm": _alarm(
            "reboot",
            "Instance status check failed for 3 minutes (OS hung, out of memory): reboot it",
            {**ec2, "MetricName": "StatusCheckFailed_Instance", "EvaluationPeriods": 3},
            [_sub("arn:${AWS::Partition}:automate:${AWS::Region}:ec2:reboot"), topic],
        ),
        "HeartbeatAlarm": _alarm(
            "bot-heartbeat",
            "The bot's stored heartbeat is stale, or nothing reports it: the bot or the instance is down",
            {
                "Namespace": _sub(NAMESPACE),
                "MetricName": HEARTBEAT_METRIC,
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 2,
                "DatapointsToAlarm": 2,
                "Threshold": _ref("HeartbeatMaxAgeSeconds"),
                "ComparisonOperator": "GreaterThanThreshold",
            },
            [topic],
            TreatMissingData="breaching",
        ),
        "ErrorLogAlarm": _alarm(
            "errors",
            "The bot logged ERROR or CRITICAL lines in the last 5 minutes (see the log group)",
            {
                "Namespace": _sub(NAMESPACE),
                "MetricName": ERROR_METRIC,
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
            [topic],
            TreatMissingData="notBreaching",
        ),
    }


def resources() -> dict[str, Any]:
    tables = table_resources()
    ssh, dashboard = (
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": _ref("TraderCidr"), "Description": what}
        for port, what in ((22, "SSH from the trader"), (DASHBOARD_PORT, "Dashboard (HTTPS) from the trader"))
    )
    ingress = [ssh, {"Fn::If": ["DashboardOpen", dashboard, _ref("AWS::NoValue")]}]
    out: dict[str, Any] = {
        "SecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "Daybreak: SSH and dashboard from the trader only; HTTPS out",
                "VpcId": _ref("VpcId"),
                "SecurityGroupIngress": ingress,
                "SecurityGroupEgress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "CidrIp": "0.0.0.0/0",
                        "Description": "HTTPS: exchange API, AWS APIs, packages",
                    }
                ],
            },
        },
        "InstanceRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Daybreak bot: its tables, its secret, its log group, its metrics namespace",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "Policies": [{"PolicyName": "daybreak-bot", "PolicyDocument": instance_policy(tables)}],
            },
        },
        "InstanceProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [_ref("InstanceRole")]}},
        # Deleting the stack deletes the keys too (Secrets Manager keeps them 30 days, recoverable).
        "ApiKeysSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "Name": _sub("${AWS::StackName}/exchange-api-keys"),
                "Description": 'Exchange API keys as JSON {"apiKey": ..., "secret": ...}; see deploy/README.md',
                "SecretString": json.dumps(SECRET_PLACEHOLDER),
            },
        },
        "LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": _sub("/daybreak/${AWS::StackName}"),
                "RetentionInDays": _ref("LogRetentionDays"),
            },
        },
        "ErrorMetricFilter": {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": _ref("LogGroup"),
                "FilterPattern": ERROR_FILTER_PATTERN,
                "MetricTransformations": [
                    {
                        "MetricNamespace": _sub(NAMESPACE),
                        "MetricName": ERROR_METRIC,
                        "MetricValue": "1",
                        "Unit": "Count",
                    }
                ],
            },
        },
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "DisplayName": "Daybreak alarms",
                "Subscription": [{"Protocol": "email", "Endpoint": _ref("AlarmEmail")}],
            },
        },
        "Instance": {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": _ref("AmiId"),
                "InstanceType": _ref("InstanceType"),
                "IamInstanceProfile": _ref("InstanceProfile"),
                "KeyName": {"Fn::If": ["HasKeyName", _ref("KeyName"), _ref("AWS::NoValue")]},
                "SubnetId": _ref("SubnetId"),
                "SecurityGroupIds": [{"Fn::GetAtt": ["SecurityGroup", "GroupId"]}],
                "CreditSpecification": {"CPUCredits": "standard"},
                "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
                "BlockDeviceMappings": [
                    {
                        "DeviceName": "/dev/xvda",
                        "Ebs": {"VolumeType": "gp3", "VolumeSize": 8, "Encrypted": True, "DeleteOnTermination": True},
                    }
                ],
                "PropagateTagsToVolumeOnCreation": True,
                "Tags": [{"Key": "Name", "Value": _sub("${AWS::StackName}-bot")}],
                "UserData": user_data(),
            },
        },
    }
    return {**out, **alarms(), **tables}


def outputs() -> dict[str, Any]:
    return {
        "DashboardUrl": {
            "Description": "The dashboard (HTTPS, only from TraderCidr; with DashboardAccess=ssm see "
            "deploy/README.md 'Dashboard over SSM')",
            "Value": _sub(f"https://${{Instance.PublicIp}}:{DASHBOARD_PORT}"),
        },
        "SsmPortForward": {
            "Description": "Dashboard without any open port: run this, then open https://localhost:8501",
            "Value": _sub(
                "aws ssm start-session --region ${AWS::Region} --target ${Instance} "
                "--document-name AWS-StartPortForwardingSession "
                f"--parameters portNumber={DASHBOARD_PORT},localPortNumber={DASHBOARD_PORT}"
            ),
        },
        "SshCommand": {"Description": "Log in (with KeyName set)", "Value": _sub("ssh ec2-user@${Instance.PublicIp}")},
        "InstanceId": {"Value": _ref("Instance")},
        "SecretId": {"Description": "Put the exchange keys here (deploy/README.md)", "Value": _ref("ApiKeysSecret")},
        "LogGroupName": {"Value": _ref("LogGroup")},
        "MetricNamespace": {"Value": _sub(NAMESPACE)},
        "AlarmTopicArn": {"Value": _ref("AlarmTopic")},
        "TablePrefix": {"Value": _ref("TablePrefix")},
    }


def build() -> dict[str, Any]:
    """The whole template as a dict (CloudFormation JSON structure)."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Daybreak crypto bot on one EC2 instance with DynamoDB, Secrets Manager and CloudWatch "
        "(rendered by deploy/render_template.py; do not edit by hand)",
        "Parameters": parameters(),
        "Rules": rules(),
        "Conditions": conditions(),
        "Resources": resources(),
        "Outputs": outputs(),
    }


def render() -> str:
    """The template text exactly as checked in."""
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in template is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TEMPLATE_PATH.read_text(encoding="utf-8") if TEMPLATE_PATH.exists() else ""
        if current != text:
            print(f"{TEMPLATE_PATH} is stale: run python -m deploy.render_template", file=sys.stderr)
            return 1
        return 0
    TEMPLATE_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {TEMPLATE_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
