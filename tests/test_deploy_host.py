"""What runs on the instance: systemd units, install.sh, the CloudWatch agent config, and that they
agree with each other, with the bot's config defaults and log format, and with the stack."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from daybreak.core.config import Config
from daybreak.ops.logs import FORMAT
from deploy import render_template

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
SERVICES = ("daybreak-bot.service", "daybreak-dashboard.service", "daybreak-heartbeat.service")
STATE_DIR = "/var/lib/daybreak"
VENV_PY = "/opt/daybreak/venv/bin/python"
APP = "/opt/daybreak/app"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd unit file -> {section: {key: [values in order]}} (keys may repeat, as systemd allows)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = out.setdefault(line.strip("[]"), {})
            continue
        key, sep, value = line.partition("=")
        assert sep and section is not None, f"{path.name}: not 'Key=value' inside a section: {raw!r}"
        section.setdefault(key, []).append(value)
    return out


def one(unit: dict, section: str, key: str) -> str:
    values = unit[section][key]
    assert len(values) == 1, f"{key} set {len(values)} times"
    return values[0]


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_hardened_and_confined_to_its_state_dir(name):
    unit = parse_unit(UNITS / name)
    svc = unit["Service"]
    assert one(unit, "Service", "User") == one(unit, "Service", "Group") == "daybreak"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert one(unit, "Service", key) == value, key
    assert svc["ReadWritePaths"] == [STATE_DIR]
    assert one(unit, "Service", "WorkingDirectory") == STATE_DIR
    assert "/etc/daybreak/stack.env" in svc["EnvironmentFile"]
    assert re.fullmatch(r"\d+M", one(unit, "Service", "MemoryMax"))
    exec_start = one(unit, "Service", "ExecStart")
    assert exec_start.startswith(VENV_PY + " ")
    assert f"--config {STATE_DIR}/config.json" in exec_start  # config.json lives where the dashboard may write it


@pytest.mark.parametrize("name", ["daybreak-bot.service", "daybreak-dashboard.service"])
def test_long_running_services_always_come_back(name):
    unit = parse_unit(UNITS / name)
    assert one(unit, "Service", "Restart") == "always"
    assert int(one(unit, "Service", "RestartSec")) >= 5
    assert one(unit, "Unit", "StartLimitIntervalSec") == "0"  # never give up restarting
    assert one(unit, "Install", "WantedBy") == "multi-user.target"
    assert "-/etc/daybreak/daybreak.env" in unit["Service"]["EnvironmentFile"]  # DAYBREAK_LIVE_CONFIRM lives there


def test_only_the_bot_and_heartbeat_commands_the_stack_expects():
    bot = one(parse_unit(UNITS / "daybreak-bot.service"), "Service", "ExecStart")
    assert bot.split()[1:3] == [f"{APP}/bot.py", "run"]
    dash = one(parse_unit(UNITS / "daybreak-dashboard.service"), "Service", "ExecStart")
    assert f"--server.port {render_template.DASHBOARD_PORT}" in dash and f"{APP}/dashboard.py" in dash
    hb = parse_unit(UNITS / "daybreak-heartbeat.service")
    assert one(hb, "Service", "Type") == "oneshot"
    assert "-m daybreak.ops.heartbeat_metric" in one(hb, "Service", "ExecStart")
    assert f"PYTHONPATH={APP}" in one(hb, "Service", "Environment").split()
    timer = parse_unit(UNITS / "daybreak-heartbeat.timer")
    assert one(timer, "Timer", "OnUnitActiveSec") == "5min"  # the heartbeat alarm's period is 300 s
    alarm = render_template.alarms()["HeartbeatAlarm"]["Properties"]
    assert alarm["Period"] == 300


def _verifiable_copy(name: str, tmp_path: Path) -> Path:
    """The unit with its install paths pointed at this checkout, so `verify` finds the executables."""
    text = (UNITS / name).read_text().replace(VENV_PY, sys.executable).replace(APP, str(ROOT))
    (tmp_path / name).write_text(text)
    return tmp_path / name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("name", SERVICES + ("daybreak-heartbeat.timer",))
def test_systemd_analyze_verify_finds_nothing(name, tmp_path):
    for other in SERVICES + ("daybreak-heartbeat.timer",):
        _verifiable_copy(other, tmp_path)
    run = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr  # unknown keys only warn: treat as failure


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("name", SERVICES)
def test_systemd_security_exposure_is_low(name, tmp_path):
    run = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(_verifiable_copy(name, tmp_path))],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", run.stdout)
    assert match, run.stdout[-500:] + run.stderr
    assert float(match[1]) <= 2.0, f"{name} exposure {match[1]} (10 = unprotected)"


# -- the CloudWatch agent ships the file the bot writes, and the filter reads its lines ------------------
def test_agent_ships_the_bot_log_file_to_the_stack_log_group():
    conf = json.loads((DEPLOY / "cloudwatch-agent.json").read_text())
    files = conf["logs"]["logs_collected"]["files"]["collect_list"]
    bot_log = PurePosixPath(STATE_DIR) / Config().log.path  # the unit's WorkingDirectory + config default
    assert str(bot_log) in [f["file_path"] for f in files]
    assert all(f["log_group_name"] == "${DAYBREAK_LOG_GROUP}" for f in files)  # install.sh substitutes it
    assert "metrics" not in conf  # no extra custom metrics on the bill


def test_error_filter_and_multiline_pattern_fit_the_bots_log_format():
    conf = json.loads((DEPLOY / "cloudwatch-agent.json").read_text())
    start = re.compile(conf["logs"]["logs_collected"]["files"]["collect_list"][0]["multi_line_start_pattern"])
    from daybreak.ops import logs

    fmt = logging.Formatter(FORMAT, "%Y-%m-%dT%H:%M:%SZ")
    fmt.converter = logs.time.gmtime

    def line(level: int, msg: str) -> str:
        return fmt.format(logging.LogRecord("daybreak", level, __file__, 1, msg, None, None))

    err, info = line(logging.ERROR, "exchange unreachable"), line(logging.INFO, "no ERROR here, just a word")
    # the metric filter "[time, level = ERROR || level = CRITICAL, ...]" splits on spaces
    assert render_template.ERROR_FILTER_PATTERN.startswith("[time, level = ERROR || level = CRITICAL")
    assert err.split(" ")[1] == "ERROR" and info.split(" ")[1] == "INFO"
    assert start.match(err) and start.match(info)
    assert not start.match("Traceback (most recent call last):") and not start.match('  File "bot.py", line 3')


# -- install.sh ----------------------------------------------------------------------------------------
INSTALL = DEPLOY / "install.sh"


def test_install_script_parses_and_is_executable():
    assert INSTALL.stat().st_mode & 0o111
    run = subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_install_script_passes_shellcheck():
    run = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_install_script_installs_every_unit_and_the_paths_the_units_use():
    text = INSTALL.read_text()
    units = sorted(p.name for p in UNITS.iterdir())
    listed = re.search(r"^UNITS=\((.*)\)$", text, re.M)[1].split()
    assert sorted(listed) == units
    assert f"STATE={STATE_DIR}\n" in text and "VENV=$PREFIX/venv" in text and "APP=$PREFIX/app" in text
    assert "PREFIX=/opt/daybreak\n" in text
    assert "save_config_atomic" in text  # the first config.json goes through the bot's own validation
    assert '"mode"] = "paper"' in text  # a fresh install never starts live


def test_install_script_refuses_unknown_options_without_root_effects():
    run = subprocess.run(["bash", str(INSTALL), "--bogus"], capture_output=True, text=True)
    assert run.returncode == 1 and "unknown option '--bogus'" in run.stderr
