"""Process concerns: config file I/O, run lock, logging, heartbeat metric, atomic files, alerts."""
