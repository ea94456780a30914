"""Re-create the episode slices in this folder from the shared real-candle set (see README.md).

Usage: ``python tests/data/episodes/extract.py [DATA_DIR]`` (default ``/work/shared/data``).
Rows are copied unchanged (no filling, no rounding); only the time window is cut.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

# file written here: (source file relative to DATA_DIR, first candle open UTC, end UTC exclusive)
SLICES = {
    "DOGE-USDT_1m_2021-05-19_20.csv.gz": ("DOGE-USDT_1m.csv", "2021-05-19 06:00", "2021-05-20 12:00"),
    "BTC-USDT_1m_2021-05-18_19.csv.gz": ("BTC-USDT_1m.csv", "2021-05-18 08:00", "2021-05-19 15:00"),
    "DOGE-USDT_1m_2021-04-22_25.csv.gz": ("DOGE-USDT_1m.csv", "2021-04-22 00:00", "2021-04-26 00:00"),
    "DOGE-USDT_5m_2021-02-09_11.csv.gz": ("DOGE-USDT_5m.csv", "2021-02-09 00:00", "2021-02-11 12:00"),
    "DOGE-USDT_5m_2021-04-24_25.csv.gz": ("DOGE-USDT_5m.csv", "2021-04-24 00:00", "2021-04-26 00:00"),
    "BTC-USDT_1m_2026-03-22_23.csv.gz": (
        "extra/2026-03_to_2026-07/BTC-USDT_1m.csv.gz",
        "2026-03-22 08:00",
        "2026-03-23 12:00",
    ),
}


def _ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").timestamp() * 1000)


def main(data_dir: str = "/work/shared/data") -> None:
    for name, (source, start, end) in SLICES.items():
        frame = pd.read_csv(Path(data_dir) / source)
        part = frame[(frame["timestamp"] >= _ms(start)) & (frame["timestamp"] < _ms(end))]
        part.to_csv(HERE / name, index=False, compression={"method": "gzip", "mtime": 0})
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main(*sys.argv[1:])
