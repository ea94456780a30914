"""ConfigVersions on SQLite, moto and dynalite: numbered, never overwritten, documents intact."""

from __future__ import annotations

from storage.records import ConfigVersionRecord

T0 = 1_617_321_600_000


def test_versions_are_kept_newest_first_and_a_number_is_taken_once(store_factory):
    store = store_factory()
    docs = [
        {"mode": "paper", "symbols": ["BTC/USDT"], "risk": {"stop_loss_ratio": 0.01 * i}, "n": i} for i in range(1, 4)
    ]
    for i, doc in enumerate(docs, start=1):
        assert store.put_config_version(ConfigVersionRecord(i, T0 + i, f"dashboard:u{i}", doc, f"note {i}"))
    assert not store.put_config_version(ConfigVersionRecord(2, T0 + 9, "file edit", {"other": True}))
    rows = store.list_config_versions()
    assert [r.version for r in rows] == [3, 2, 1]
    assert [r.document for r in rows] == docs[::-1] and rows[1].author == "dashboard:u2"
    assert store.list_config_versions(limit=1)[0].version == 3
    assert store.get_config_version(2) == ConfigVersionRecord(2, T0 + 2, "dashboard:u2", docs[1], "note 2")
    assert store.get_config_version(7) is None
    assert store_factory.reopen().get_config_version(1).document == docs[0], "durable"
