"""A local notification receiver: an HTTP server on 127.0.0.1 that records each POST, as apprise's
``json://`` and ``form://`` schemes send them (``{"version", "title", "message", "type", ...}``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records each POST; ``codes`` are answered first, then 200. ``hold`` (an Event), when set up,
    makes each request wait for it (at most 3 s). Use :meth:`close` when done."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.codes: list[int] = []
        self.hold: threading.Event | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.hold is not None:
                    receiver.hold.wait(3)
                with receiver._lock:
                    code = receiver.codes.pop(0) if receiver.codes else 200
                    receiver.requests.append(
                        {"path": self.path, "code": code, "raw": raw, "type": self.headers.get("Content-Type", "")}
                    )
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str = "/hook", scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def delivered(self) -> list[dict]:
        """The JSON bodies answered with 200, in arrival order."""
        with self._lock:
            return [json.loads(r["raw"]) for r in self.requests if r["code"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
