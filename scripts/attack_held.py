"""Issue 21's attacks, run by `attack_budget.py --only held` (see its docstring): clients that hold
what the server gives them without being served, at the render server's defaults.

Each prints one line: a normal client's small render from the same address, alone and while the
attack runs, and when what the attack held was given back. Stdlib only: the HTTP/2 attacker is a
few hand-made frames (prior knowledge, HPACK literals), as an attacker's would be.
"""

import math
import socket
import struct
import threading
import time

from attack_budget import BOUNDARY, Server, blended, form, metric, post, triangle, document

NORMAL = form(blended(1), "label", 64, 48)
STALLED_DECLARED = 100_000_000 + 200
# The body limits' default: a stalled body is cut after bodyStallTimeoutSeconds.
BODY_STALL_S = 30.0
# Answers never read must be given back within this once the server is done rendering them.
GIVE_BACK_S = 60.0
MIB = 2**20


def normal_render(port: int, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status, _ = post(port, NORMAL, timeout)
    except OSError:
        status = 0
    return status, time.monotonic() - started


def renders_during(port: int, timeout: float, count: int = 3, pause: float = 1.0) -> str:
    results = []
    for _ in range(count):
        results.append(normal_render(port, timeout))
        time.sleep(pause)
    return ", ".join(f"{status} in {seconds:.2f} s" for status, seconds in results)


def wait_until(condition, limit: float) -> float:
    """Seconds until `condition()` holds, or nan after `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    return math.nan


def closed(port: int, reason: str) -> float:
    """Connections the server has closed for `reason`."""
    return metric(port, f'http_connections_closed_total{{reason="{reason}"}}')


def stalled_upload(port: int) -> socket.socket:
    """A request head for a 100 MB body, 200 bytes of it, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /render HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {STALLED_DECLARED}\r\n\r\n"
    ).encode()
    sock.sendall(head + NORMAL[:200])
    return sock


def hpack_int(value: int, prefix_bits: int, flags: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([flags | value])
    out, value = [flags | limit], value - limit
    while value >= 128:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + [value])


def hpack(headers: list) -> bytes:
    """Literal header fields without indexing, new names, no Huffman coding."""
    block = b""
    for name, value in headers:
        name, value = name.encode(), value.encode()
        block += b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value
    return block


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
ACK, END_HEADERS = 0x1, 0x4
REFUSED_STREAM = 0x7


class Http2Attacker:
    """One HTTP/2 connection that opens POST streams and stops them mid-body. Ignores the server's
    stream limit, as an attacker would; a thread acknowledges SETTINGS and PINGs, and counts the
    streams the server refuses and when it closes the connection."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0))
        self.refused = 0
        self.max_streams = None
        self.closed_at = None
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)

    def read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= 9:
                    length = int.from_bytes(buffer[:3], "big")
                    if len(buffer) < 9 + length:
                        break
                    kind, flags, payload = buffer[3], buffer[4], buffer[9 : 9 + length]
                    buffer = buffer[9 + length :]
                    if kind == SETTINGS and not flags & ACK:
                        for i in range(0, len(payload), 6):
                            key, value = struct.unpack(">HI", payload[i : i + 6])
                            if key == 3:  # SETTINGS_MAX_CONCURRENT_STREAMS
                                self.max_streams = value
                        self.send(frame(SETTINGS, ACK, 0))
                    elif kind == PING and not flags & ACK:
                        self.send(frame(PING, ACK, 0, payload))
                    elif kind == RST_STREAM and payload == struct.pack(">I", REFUSED_STREAM):
                        self.refused += 1
        except OSError:
            pass
        self.closed_at = time.monotonic()

    def stalled_post(self, stream: int) -> None:
        headers = hpack(
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", "/render"),
                (":authority", "localhost"),
                ("content-type", f"multipart/form-data; boundary={BOUNDARY}"),
                ("content-length", str(STALLED_DECLARED)),
            ]
        )
        self.send(frame(HEADERS, END_HEADERS, stream, headers) + frame(DATA, 0, stream, NORMAL[:200]))


def stalled_uploads(server: Server, timeout: float) -> bool:
    alone = normal_render(server.port, timeout)
    started = time.monotonic()
    attack = [stalled_upload(server.port) for _ in range(40)]
    time.sleep(0.5)
    during = renders_during(server.port, timeout)
    held = metric(server.port, "http_upload_bytes_in_flight")
    all_cut = wait_until(lambda: closed(server.port, "body_stalled") >= len(attack), BODY_STALL_S + 30)
    cut = time.monotonic() - started if all_cut == all_cut else math.nan
    given_back = wait_until(lambda: metric(server.port, "http_upload_bytes_in_flight") == 0, 10)
    print(
        f"40 stalled uploads (100 MB declared, 200 B sent): normal render alone {alone[0]} in {alone[1]:.2f} s; "
        f"during the attack {during}; upload bytes held {held:.0f}; all 40 closed by the server {cut:.1f} s "
        f"after they began; upload bytes back to 0{'' if given_back == given_back else ' NEVER'}"
    )
    for sock in attack:
        sock.close()
    return during.count("200 in") == 3 and cut == cut and given_back == given_back


def stalled_streams(server: Server, timeout: float) -> bool:
    alone = normal_render(server.port, timeout)
    started = time.monotonic()
    attacker = Http2Attacker(server.port)
    time.sleep(0.2)
    for i in range(40):
        attacker.stalled_post(2 * i + 1)
    time.sleep(0.5)
    during = renders_during(server.port, timeout)
    held = metric(server.port, "http_upload_bytes_in_flight")
    wait_until(lambda: attacker.closed_at is not None, BODY_STALL_S + 30)
    given_back = wait_until(lambda: metric(server.port, "http_upload_bytes_in_flight") == 0, 10)
    cut = (attacker.closed_at - started) if attacker.closed_at else math.nan
    print(
        f"40 stalled HTTP/2 streams on one connection (advertised limit {attacker.max_streams}, "
        f"{attacker.refused} refused): normal render alone {alone[0]} in {alone[1]:.2f} s; during the attack "
        f"{during}; upload bytes held {held:.0f}; connection closed {cut:.1f} s after it began; upload bytes "
        f"back to 0{'' if given_back == given_back else ' NEVER'}"
    )
    attacker.sock.close()
    return during.count("200 in") == 3 and cut == cut and given_back == given_back


def never_read(server: Server, timeout: float, sources: list) -> bool:
    """Six clients, from `sources`, each ask for an 8192x8192 depth image (256 MiB) and never read."""
    alone = normal_render(server.port, timeout)
    time.sleep(1)
    idle = server.rss_mib()
    depth = form(document(triangle(1.0), {
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
    }), "depth", 8192, 8192)
    head = (
        f"POST /render HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(depth)}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    attack = []
    for source in sources:
        sock = socket.create_connection(("127.0.0.1", server.port), source_address=(source, 0))
        sock.sendall(head + depth)
        attack.append(sock)
    peak = idle

    def sample() -> float:
        nonlocal peak
        rss = server.rss_mib()
        peak = max(peak, rss)
        return rss

    def rendered() -> bool:
        sample()
        return metric(server.port, "render_queue_depth") == 0 and metric(server.port, "render_workers_busy") == 0

    rendering = wait_until(rendered, 600)
    held_rss = sample()
    during = renders_during(server.port, timeout, count=1)
    back = wait_until(lambda: sample() <= idle + 512 and in_flight_zero(server.port), GIVE_BACK_S)
    after = time.monotonic() - started
    cut = closed(server.port, "write_too_slow")
    statuses = []
    for sock in attack:
        sock.settimeout(5)
        try:
            statuses.append(sock.recv(12)[9:12].decode())
        except OSError:
            statuses.append("none")
        sock.close()
    origin = "one address" if len(set(sources)) == 1 else f"{len(set(sources))} addresses"
    print(
        f"6 never-read 8192x8192 depth answers from {origin}: normal render alone {alone[0]} in {alone[1]:.2f} s; "
        f"statuses {' '.join(statuses)}; rendered within {rendering:.1f} s, RSS then {held_rss:.0f} MiB "
        f"(idle {idle:.0f}, peak {peak:.0f}); normal render right then {during}; RSS back within 512 MiB of idle "
        f"and nothing in flight {back:.1f} s after rendering ({after:.1f} s after the attack began), the clients "
        f"still connected; {cut:.0f} closed by the server for writing too slowly"
    )
    return during.count("200 in") == 1 and back == back and cut == statuses.count("200")


def in_flight_zero(port: int) -> bool:
    return metric(port, "render_requests_in_flight") == 0


def run(args, data_limit: int) -> bool:
    ok = True
    attacks = [
        stalled_uploads,
        stalled_streams,
        # As in issue 21, from the normal client's address: the address's share of the in-flight
        # memory refuses some; then from six addresses, where the write floor alone frees them.
        lambda server, timeout: never_read(server, timeout, ["127.0.0.1"] * 6),
        lambda server, timeout: never_read(server, timeout, [f"127.0.0.{i}" for i in range(2, 8)]),
    ]
    for attack in attacks:
        server = Server(args.binary, data_limit)
        try:
            ok = attack(server, args.timeout) and ok
        finally:
            server.stop()
    return ok
