"""The CloudFormation stack: checked-in file is current, lints clean, and the instance role allows
exactly what the bot's DynamoDB store calls (recorded on moto), on the stack's tables only."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from moto import mock_aws

from daybreak.core.config import StorageSettings
from daybreak.core.domain import Action, Control, Event, Position, Trade
from daybreak.ops.heartbeat_metric import HEARTBEAT_METRIC
from deploy import render_template
from storage.dynamo_schema import cloudformation_resources
from storage.records import ConfigVersionRecord, PriceRecord, SignalRecord, StatRecord, StatusRecord

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "cloudformation.json"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
ACCOUNT, REGION, STACK, PREFIX = "123456789012", "us-east-1", "daybreak", "Daybreak"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{STACK}/exchange-api-keys-AbCdEf"


@pytest.fixture(scope="module")
def template() -> dict:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


# -- the file ------------------------------------------------------------------------------------------
def test_checked_in_template_is_the_rendered_one():
    assert TEMPLATE.read_text(encoding="utf-8") == render_template.render(), (
        "deploy/cloudformation.json is stale: run `python -m deploy.render_template`"
    )
    assert render_template.main(["--check"]) == 0


@pytest.mark.skipif(not CFN_LINT.exists(), reason="cfn-lint is not installed (requirements-dev.txt)")
def test_template_passes_cfn_lint_and_the_linter_is_live(tmp_path):
    run = subprocess.run([str(CFN_LINT), "--include-checks", "I", "--", str(TEMPLATE)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    broken = json.loads(TEMPLATE.read_text())
    broken["Resources"]["HeartbeatAlarm"]["Properties"]["Threshold"] = {"Ref": "HeartbeatMaxAge"}  # a typo
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    run = subprocess.run([str(CFN_LINT), "--", str(tmp_path / "broken.json")], capture_output=True, text=True)
    assert run.returncode != 0 and "HeartbeatMaxAge" in run.stdout


# -- what the stack contains ------------------------------------------------------------------------------
def test_tables_are_the_storage_schema_with_retention(template):
    schema = cloudformation_resources(prefix_param="TablePrefix")
    tables = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == set(schema)
    for name, res in tables.items():
        props = dict(res["Properties"])
        pitr = props.pop("PointInTimeRecoverySpecification")
        assert pitr == {"PointInTimeRecoveryEnabled": {"Fn::If": ["PitrOn", True, False]}}
        assert props == schema[name]["Properties"]
        assert res["DeletionPolicy"] == res["UpdateReplacePolicy"] == "Retain"  # trade history survives


def test_network_is_closed_except_ssh_and_dashboard_from_the_trader(template):
    sg = template["Resources"]["SecurityGroup"]["Properties"]
    ssh, dashboard = sg["SecurityGroupIngress"]
    condition, rule, otherwise = dashboard["Fn::If"]  # DashboardAccess=ssm: no dashboard port at all
    assert (condition, otherwise) == ("DashboardOpen", {"Ref": "AWS::NoValue"})
    assert sorted((r["FromPort"], r["ToPort"], r["CidrIp"]["Ref"]) for r in (ssh, rule)) == [
        (22, 22, "TraderCidr"),
        (8501, 8501, "TraderCidr"),
    ]
    assert "Default" not in template["Parameters"]["TraderCidr"]  # no "open to the world" default
    assert [(r["FromPort"], r["ToPort"]) for r in sg["SecurityGroupEgress"]] == [(443, 443)]


def test_instance_is_small_imdsv2_and_cannot_run_up_a_cpu_bill(template):
    params, inst = template["Parameters"], template["Resources"]["Instance"]["Properties"]
    assert params["InstanceType"]["Default"] == "t4g.nano"
    assert set(params["InstanceType"]["AllowedValues"]) == {"t4g.nano", "t4g.micro"}
    assert params["AmiId"]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert (
        params["AmiId"]["Default"].startswith("/aws/service/ami-amazon-linux-latest/al2023-")
        and "arm64" in params["AmiId"]["Default"]
    )
    assert inst["CreditSpecification"] == {"CPUCredits": "standard"}
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True


def test_secret_starts_as_the_placeholder_the_loader_recognises(template):
    from daybreak.exchange.secrets import SECRET_PLACEHOLDER

    secret = template["Resources"]["ApiKeysSecret"]["Properties"]
    assert json.loads(secret["SecretString"]) == SECRET_PLACEHOLDER


def test_alarms_watch_the_metrics_the_bot_side_publishes(template):
    res = template["Resources"]
    ns = {"Fn::Sub": render_template.NAMESPACE}
    hb = res["HeartbeatAlarm"]["Properties"]
    assert (hb["Namespace"], hb["MetricName"], hb["TreatMissingData"]) == (ns, HEARTBEAT_METRIC, "breaching")
    err = res["ErrorLogAlarm"]["Properties"]
    mf = res["ErrorMetricFilter"]["Properties"]["MetricTransformations"][0]
    assert (err["Namespace"], err["MetricName"]) == (mf["MetricNamespace"], mf["MetricName"])
    recover = res["SystemCheckRecoverAlarm"]["Properties"]
    assert recover["MetricName"] == "StatusCheckFailed_System"
    assert {"Fn::Sub": "arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover"} in recover["AlarmActions"]
    for name in ("SystemCheckRecoverAlarm", "InstanceCheckRebootAlarm", "HeartbeatAlarm", "ErrorLogAlarm"):
        assert {"Ref": "AlarmTopic"} in res[name]["Properties"]["AlarmActions"]


def test_user_data_hands_install_sh_every_stack_value(template):
    script = template["Resources"]["Instance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    written = set(re.findall(r"^([A-Z_]+)=", script, re.M))
    install = (ROOT / "deploy" / "install.sh").read_text()
    for var in written:
        assert f"\n{var}=${var}\n" in install, f"install.sh does not keep {var} in stack.env"
    assert written >= {
        "AWS_DEFAULT_REGION",
        "DAYBREAK_SECRET_ID",
        "DAYBREAK_TABLE_PREFIX",
        "DAYBREAK_LOG_GROUP",
        "DAYBREAK_METRIC_NAMESPACE",
    }


# -- IAM: least privilege, checked against the calls the store really makes ------------------------------
class Resolver:
    """Resolves the template's Ref / Fn::GetAtt / Fn::Sub into the ARNs of one concrete stack."""

    def __init__(self, template: dict):
        self.tables = {
            name: PREFIX + res["Properties"]["TableName"]["Fn::Sub"].split("}", 1)[1]
            for name, res in template["Resources"].items()
            if res["Type"] == "AWS::DynamoDB::Table"
        }
        self.refs = {
            "AWS::StackName": STACK,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "TablePrefix": PREFIX,
            "ApiKeysSecret": SECRET_ARN,
        }
        self.attrs = {f"{n}.Arn": self.table_arn(t) for n, t in self.tables.items()}
        self.attrs["LogGroup.Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/daybreak/{STACK}:*"

    @staticmethod
    def table_arn(table: str) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"

    def __call__(self, node):
        if isinstance(node, list):
            return [self(n) for n in node]
        if isinstance(node, dict) and "Ref" in node:
            return self.refs[node["Ref"]]
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            return self.attrs[".".join(node["Fn::GetAtt"])]
        if isinstance(node, dict) and "Fn::Sub" in node:
            return re.sub(r"\$\{([^}]+)\}", lambda m: self.refs.get(m[1]) or self.attrs[m[1]], node["Fn::Sub"])
        if isinstance(node, dict):
            return {k: self(v) for k, v in node.items()}
        return node


@pytest.fixture(scope="module")
def policy(template) -> list[dict]:
    role = template["Resources"]["InstanceRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert "ManagedPolicyArns" not in role  # no broad AWS-managed policies
    (doc,) = [p["PolicyDocument"] for p in role["Policies"]]
    return Resolver(template)(doc["Statement"])


def allowed(statements: list[dict], action: str, resource: str) -> bool:
    """IAM evaluation for Allow statements without conditions (wildcards * and ? as IAM has them)."""
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if (
            st["Effect"] == "Allow"
            and "Condition" not in st
            and any(fnmatch.fnmatchcase(action, a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


def test_role_has_no_wildcard_actions_and_star_resource_only_for_namespaced_metrics(policy):
    for st in policy:
        assert st["Effect"] == "Allow"
        assert all("*" not in a for a in st["Action"]), st
        if st["Resource"] == "*" and st["Sid"] == "SessionManager":  # no resource-level permissions
            assert st["Action"] == render_template.SESSION_MANAGER_ACTIONS and "Condition" not in st
            assert all(a.startswith(("ssm:UpdateInstanceInformation", "ssmmessages:")) for a in st["Action"])
        elif st["Resource"] == "*":  # PutMetricData has no resource-level permissions
            assert st["Action"] == ["cloudwatch:PutMetricData"]
            assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": f"Daybreak/{STACK}"}}
    assert allowed(policy, "secretsmanager:GetSecretValue", SECRET_ARN)
    assert not allowed(policy, "secretsmanager:GetSecretValue", SECRET_ARN.replace("exchange-api-keys", "other"))
    assert not allowed(policy, "secretsmanager:PutSecretValue", SECRET_ARN)  # the bot cannot change its keys
    log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/daybreak/{STACK}:log-stream:i-0abc/daybreak.log"
    assert allowed(policy, "logs:PutLogEvents", log_stream)
    assert not allowed(policy, "logs:PutLogEvents", log_stream.replace(f"/daybreak/{STACK}", "/aws/lambda/x"))


class CallRecorder:
    """botocore ``before-parameter-build`` hook: (IAM action, resource ARN) of every DynamoDB call."""

    def __init__(self):
        self.calls: set[tuple[str, str]] = set()

    def __call__(self, params, model, **_):
        action = f"dynamodb:{model.name}"
        tables = list(params.get("RequestItems", {})) or ([params["TableName"]] if "TableName" in params else [])
        if not tables:
            self.calls.add((action, "*"))
        for table in tables:
            arn = Resolver.table_arn(table)
            self.calls.add((action, f"{arn}/index/{params['IndexName']}" if params.get("IndexName") else arn))


@pytest.fixture
def aws_env(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def _exercise_store(store) -> None:
    """Every Store method the bot and dashboard use, once."""
    now = 1_700_000_000_000
    store.put_trade(Trade(f"t-{uuid.uuid4()}", now, "BTC/USDT", Action.BUY, 0.001, 60_000.0, 0.06, "MA_Crossover"))
    store.list_trades(), store.list_trades(symbol="BTC/USDT"), store.list_trades(algo="MA_Crossover", newest_first=True)
    store.put_stats([StatRecord("pnl", "total", 1.5, "2024-01-01")]), store.list_stats()
    store.put_prices([PriceRecord("BTC/USDT", now, 60_000.0)])
    store.list_prices("BTC/USDT", limit=10), store.price_symbols()
    store.put_signal(SignalRecord("s1", now, "BTC/USDT", "buy", "test"))
    store.list_signals(status="new"), store.inbox(scan=True), store.claim_signal("s1", now, "new", "t1", "queued", now)
    store.mark_signal("s1", now, "executed", "t1", "ok", now + 1, "accepted"), store.get_trade("t1")
    store.put_position(Position("MA_Crossover", "BTC/USDT", 0.001, 60_000.0, now, 0.06, "t1"))
    store.list_positions(), store.delete_position("MA_Crossover", "BTC/USDT")
    (
        store.put_event(Event("e1", now, "rejection", "too small")),
        store.list_events(kind="rejection"),
        store.list_events(),
    )
    store.put_control(Control("c1", now, "pause", "test")), store.list_controls(status="pending"), store.list_controls()
    store.ack_control("c1", "done", "paused", now + 1)
    store.put_status(StatusRecord(now, "paper", "RUNNING")), store.get_status()
    store.set_state("cursor", "1"), store.get_state("cursor")
    store.put_config_version(ConfigVersionRecord(1, now, "cli", {"mode": "paper"}))
    store.list_config_versions(), store.get_config_version(1)
    store.set_state("cursor", "1"), store.get_state("cursor"), store.set_state("cursor", "2", durable=True)
    from daybreak.core.domain import Order
    from daybreak.core.order_record import OrderRecord
    from storage.records import Lease

    rec = OrderRecord.intent(Order("db-1", "MA_Crossover", "BTC/USDT", "buy", 0.001, now), now)
    store.put_order(rec), store.put_order(rec.next(now + 1, status="filled", filled=0.001, booked_filled=0.001))
    store.get_order("db-1"), store.list_orders(open_only=True), store.list_orders(limit=10)
    store.write_lease(Lease("me", "h", 1, "/", now, now + 60_000), None), store.read_lease()
    store.flush()


def test_role_allows_every_call_the_bot_makes_on_its_tables_and_nothing_unused(aws_env, policy):
    """The store's calls (every Store method) plus `bot.py init-db` on the tables the stack made."""
    from storage.dynamo_client import make_client
    from storage.dynamodb import DynamoStore
    from storage.init_db import init_db

    settings = StorageSettings(backend="dynamodb", region=REGION, table_prefix=PREFIX)
    init_db(settings)  # what the stack's table resources do
    recorder = CallRecorder()
    client = make_client(REGION)
    client.meta.events.register("before-parameter-build.dynamodb", recorder)
    init_db(settings, client=client)  # README step 5, on the instance
    store = DynamoStore.from_settings(settings)
    store._client.meta.events.register("before-parameter-build.dynamodb", recorder)
    _exercise_store(store)
    store.close()
    assert {"dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:Query"} <= {a for a, _ in recorder.calls}
    denied = sorted(c for c in recorder.calls if not allowed(policy, *c))
    assert not denied, f"the instance role would deny: {denied}"
    (tables_st,) = [st for st in policy if st["Sid"] == "DaybreakTables"]
    assert set(tables_st["Action"]) == {a for a, _ in recorder.calls} - {"dynamodb:Scan"}, (
        "grants that nothing uses, or calls not granted"
    )
    assert {r for a, r in recorder.calls if a == "dynamodb:Scan"} == {Resolver.table_arn(PREFIX + "Signals")}, (
        "the one scan is of the Signals inbox"
    )
    # and the same calls on somebody else's table are denied
    other = {(a, r.replace(f"table/{PREFIX}", "table/Payroll")) for a, r in recorder.calls}
    assert not any(allowed(policy, *c) for c in other)
    for action in ("dynamodb:DeleteTable", "dynamodb:CreateTable", "dynamodb:Scan", "dynamodb:UpdateTable"):
        assert not allowed(policy, action, Resolver.table_arn(PREFIX + "Trades"))


# -- the README keeps the trader's numbers honest ---------------------------------------------------------
README = ROOT / "deploy" / "README.md"


def test_readme_cost_table_adds_up_to_under_ten_dollars():
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- cost-table -->")[1].strip().split("\n\n")[0]
    rows = re.findall(r"^\| ([^|]+?) \|.*\| \$(\d+\.\d\d) \| \$(\d+\.\d\d) \|$", table, re.M)
    items = [(float(a), float(b)) for name, a, b in rows if not name.startswith("**")]
    ((list_total, paid_total),) = [(float(a), float(b)) for name, a, b in rows if name.startswith("**Total")]
    assert len(items) >= 10
    assert abs(sum(a for a, _ in items) - list_total) < 0.011
    assert abs(sum(b for _, b in items) - paid_total) < 0.011
    assert all(b <= a for a, b in items)  # a free allowance never raises a price
    assert paid_total < 10.0
    assert f"What you will pay is ${paid_total:.2f} a month" in text


def test_readme_documents_every_parameter_and_secret_step(template):
    text = README.read_text(encoding="utf-8")
    for name in template["Parameters"]:
        assert f"`{name}`" in text, f"deploy/README.md does not explain parameter {name}"
    for needle in ("put-secret-value", "init-db", "DAYBREAK_LIVE_CONFIRM", "systemctl", "PointInTimeRecovery"):
        assert needle in text
