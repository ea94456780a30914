"""The suite's dynalite survives a client that disconnects in the middle of a request, as DynamoDB
does: the crash tests SIGKILL the bot while it talks to the server, and dynalite 4.0.0 used to die
of it (``tests/dynalite_guard.js`` says why), failing whichever test ran next."""

from __future__ import annotations

import socket
import time

import boto3


def _abandon_a_request(port: int) -> None:
    """A POST that promises a body it never finishes, then a reset (what a killed client leaves)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b'X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 1000\r\n\r\n{"Limit":'
    )
    time.sleep(0.2)  # the server has read the head and part of the body
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close = RST
    s.close()


def test_dynalite_serves_on_after_a_client_abandons_a_request(dynalite_server):
    for _ in range(3):
        _abandon_a_request(dynalite_server.port)
    time.sleep(0.5)
    assert dynalite_server.alive(), dynalite_server.stderr()
    client = boto3.client("dynamodb", endpoint_url=dynalite_server.endpoint_url, region_name="us-east-1")
    assert client.list_tables()["TableNames"] == []
    assert "dropped a request its client abandoned" in dynalite_server.stderr()
