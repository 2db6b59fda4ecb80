"""A minimal HTTP/2-over-TLS server speaking just enough of the OpenAI chat API for the pool's HTTP/2 test.

Built on the ``h2`` state machine (no HTTP/2 server library is installed): ALPN must select ``h2`` or the
connection is refused, every request on ``/v1/chat/completions`` gets a JSON chat completion (with usage)
whose content echoes the last user message, and the server counts connections and streams so a test can
prove the client multiplexed requests over few connections.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def write_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 (usable as its own CA) and its key; returns the paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def chat_completion(content: str) -> dict[str, Any]:
    """An OpenAI chat completion answering ``content``."""
    return {
        "id": "chatcmpl-h2",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


@dataclass
class H2ServerStats:
    """What the server saw: connections accepted / closed, streams (requests) received, the most streams one
    connection carried in total and at the same time (requests received but not yet answered), ALPN per
    connection."""

    connections: int = 0
    closed: int = 0
    streams: int = 0
    max_streams_per_connection: int = 0
    max_in_flight_per_connection: int = 0
    alpn: list[str | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    http_versions_refused: int = 0

    @property
    def open(self) -> int:
        return self.connections - self.closed


class H2ChatServer:
    """``async with H2ChatServer(cert, key) as server``: serves HTTPS with HTTP/2 only on 127.0.0.1."""

    def __init__(self, cert_path: Path, key_path: Path, *, reply_delay: float = 0.0) -> None:
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(cert_path, key_path)
        self._ssl.set_alpn_protocols(["h2"])
        self._reply_delay = reply_delay
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = H2ServerStats()
        self.port = 0

    async def __aenter__(self) -> H2ChatServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def wait_closed_connections(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` connections were closed by the peer (or ``timeout``); returns whether they were."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.stats.closed < count:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        ssl_object = writer.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        self.stats.alpn.append(alpn)
        streams_here = 0
        in_flight = [0]
        try:
            if alpn != "h2":
                self.stats.http_versions_refused += 1
                return
            conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            writer.write(conn.data_to_send())
            bodies: dict[int, bytearray] = {}
            paths: dict[int, str] = {}
            replies: set[asyncio.Task[None]] = set()
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {_text(k): _text(v) for k, v in event.headers}
                        paths[event.stream_id] = headers.get(":path", "")
                        bodies[event.stream_id] = bytearray()
                    elif isinstance(event, h2.events.DataReceived):
                        bodies.setdefault(event.stream_id, bytearray()).extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        streams_here += 1
                        self.stats.streams += 1
                        self.stats.max_streams_per_connection = max(self.stats.max_streams_per_connection, streams_here)
                        in_flight[0] += 1
                        self.stats.max_in_flight_per_connection = max(
                            self.stats.max_in_flight_per_connection, in_flight[0]
                        )
                        path = paths.pop(event.stream_id, "")
                        self.stats.paths.append(path)
                        body = bytes(bodies.pop(event.stream_id, b""))
                        reply = asyncio.ensure_future(self._reply(conn, writer, event.stream_id, path, body, in_flight))
                        replies.add(reply)
                        reply.add_done_callback(replies.discard)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        break
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, h2.exceptions.ProtocolError):
            # a client that does not speak HTTP/2 (the HTTP/1.1 controls) or went away mid-frame
            pass
        finally:
            self.stats.closed += 1
            writer.close()
            self._tasks.discard(task)

    async def _reply(
        self,
        conn: h2.connection.H2Connection,
        writer: asyncio.StreamWriter,
        stream_id: int,
        path: str,
        body: bytes,
        in_flight: list[int],
    ) -> None:
        if self._reply_delay:
            # keeps streams open at the same time, so concurrent requests must be multiplexed
            await asyncio.sleep(self._reply_delay)
        if path.endswith("/chat/completions"):
            request = json.loads(body or b"{}")
            last = request.get("messages", [{}])[-1].get("content", "")
            status, payload = 200, json.dumps(chat_completion(f"echo: {last}")).encode()
        else:
            status, payload = 404, b'{"error": {"message": "not found"}}'
        conn.send_headers(
            stream_id,
            [(":status", str(status)), ("content-type", "application/json"), ("content-length", str(len(payload)))],
        )
        conn.send_data(stream_id, payload, end_stream=True)
        in_flight[0] -= 1
        writer.write(conn.data_to_send())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
