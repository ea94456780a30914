"""Config versions from the bot's side and the command line: the running bot stores a file edit it
picks up (once), logs and reports the version it runs; ``bot.py config versions|show|rollback``."""

from __future__ import annotations

import json
import logging
import os
import time

from daybreak.drivers.wiring import build_context
from daybreak.ops import config_versions
from daybreak.ops.config_file import load_config
from storage.sqlite import SQLiteStore
from tests.helpers import bot, write_config


def _touch_later(path):
    """Make the next mtime differ even on coarse file-system clocks."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_the_bot_stores_a_file_edit_once_and_reports_the_version_it_runs(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="daybreak")
    cfg = write_config(tmp_path)
    ctx = build_context(cfg, load_config(cfg))
    try:
        (v1,) = ctx.store.list_config_versions()
        assert (v1.version, v1.author, ctx.config_version) == (1, "file edit", 1)
        assert v1.document == json.loads(cfg.read_text())

        edited = dict(json.loads(cfg.read_text()), poll_seconds=7)  # a hand edit
        cfg.write_text(json.dumps(edited, indent=4))
        _touch_later(cfg)
        assert ctx.reload_config()
        assert ctx.config.poll_seconds == 7
        assert [(r.version, r.author, r.document) for r in ctx.store.list_config_versions(limit=1)] == [
            (2, "file edit", edited)
        ]
        assert ctx.config_version == 2

        # a save through config_versions (the dashboard's path) is stored first: the bot finds it
        saved = config_versions.save(
            dict(edited, poll_seconds=9), cfg, ctx.store, "dashboard:trader", int(time.time() * 1000)
        )
        _touch_later(cfg)
        assert ctx.reload_config() and ctx.config_version == saved.version.version == 3
        assert [r.author for r in ctx.store.list_config_versions()] == ["dashboard:trader", "file edit", "file edit"]

        cfg.write_text(json.dumps(json.loads(cfg.read_text()), indent=1))  # re-indented only
        _touch_later(cfg)
        assert ctx.reload_config() and len(ctx.store.list_config_versions()) == 3, "same document, no new version"
        ctx.heartbeat(int(time.time() * 1000))
        assert ctx.store.get_status().detail["config_version"] == 3
    finally:
        ctx.shutdown()
    assert "config version 3 in force (by dashboard:trader)" in caplog.text


def test_config_versions_show_and_rollback_on_the_command_line(tmp_path):
    cfg = write_config(tmp_path)
    original = json.loads(cfg.read_text())
    store = SQLiteStore(tmp_path / "daybreak.db")
    config_versions.save(dict(original, poll_seconds=9), cfg, store, "dashboard:trader", 1_700_000_000_000)
    config_versions.save(
        dict(original, poll_seconds=9, exchange="binance"), cfg, store, "dashboard:trader", 1_700_000_060_000
    )

    out = bot("config", "versions", "--config", str(cfg), check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["3", "2", "1"]
    assert "in file" in rows[0] and "dashboard:trader" in rows[0] and "2023-11-14 22:14:20" in rows[0]
    assert "file edit" in rows[2] and "in force before the first stored save" in rows[2]
    assert "3 version(s)" in out

    assert json.loads(bot("config", "show", "1", "--config", str(cfg), check=True).stdout) == original
    diff = bot("config", "show", "2", "--diff", "--config", str(cfg), check=True).stdout
    assert '-  "poll_seconds": 5.0' not in diff and '+  "poll_seconds": 9' in diff and diff.startswith("--- version 1")

    back = bot("config", "rollback", "1", "--config", str(cfg), check=True).stdout
    assert "rolled back to version 1" in back and "is now version 4" in back
    assert "it changes exchange: restart the bot" in back
    assert json.loads(cfg.read_text()) == original
    v4 = store.get_config_version(4)
    assert (v4.author, v4.note, v4.document) == ("cli", "rollback to version 1", original)
    again = bot("config", "rollback", "1", "--config", str(cfg), check=True).stdout
    assert "already the config in force" in again and len(store.list_config_versions()) == 4

    missing = bot("config", "rollback", "42", "--config", str(cfg))
    assert missing.returncode == 2 and missing.stderr.strip() == "error: config version 42 does not exist"
    assert bot("config", "show", "--config", str(cfg)).returncode == 2
    store.close()
