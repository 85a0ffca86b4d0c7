"""A tiny RFC 3161 Timestamp Authority over HTTP for end-to-end tests, backed by `openssl ts`.

Standalone, standard library only. On start it makes its own test CA and TSA certificate with the
`openssl` CLI (in a temporary directory, or in `--dir`, reusing `ca.pem`, `tsa.pem` and `tsa.key`
found there), listens on 127.0.0.1 and prints one JSON line on stdout when ready:

    {"url": "http://127.0.0.1:PORT/", "ca": "/path/to/ca.pem", "pid": 1234}

Routes:

- `POST /` with `Content-Type: application/timestamp-query`: the DER query is answered by
  `openssl ts -reply` as `application/timestamp-reply` (a `TimeStampResp` whose token carries the
  TSA certificate and the CA, verifiable with `openssl ts -verify -CAfile ca.pem`).
- `GET /stats`: `{"requests": n, "mode": "ok"}`, n counting every `POST /` received.
- `GET /fail?status=500|reject|ok`: from then on, answer `POST /` with HTTP 500, with a granted-less
  rejection reply (PKIStatus 2, failInfo systemFailure), or normally again.

Usage: `python3 e2e/tsa_server.py [--port N] [--dir DIR]`; stop it with SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

#: The largest query accepted (a SHA-512 query is about 100 bytes).
MAX_QUERY = 64 * 1024

#: The TSA's policy OID (a test arc).
POLICY = "1.2.3.4.1"

#: Extensions of the TSA certificate (RFC 3161 2.3: critical EKU, timeStamping only).
TSA_EXTENSIONS = """[tsa_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

def _tlv(tag: int, content: bytes) -> bytes:
    """A DER TLV with a short-form length (under 128 bytes)."""
    return bytes([tag, len(content)]) + content


#: A `TimeStampResp` with status rejection (2), a status text and failInfo systemFailure (bit 25:
#: four bytes, the last six bits unused).
REJECTION = _tlv(0x30, _tlv(0x30, (
    _tlv(0x02, b"\x02")
    + _tlv(0x30, _tlv(0x0C, b"test TSA told to reject"))
    + _tlv(0x03, b"\x06\x00\x00\x00\x40")
)))


def openssl(*args: str, cwd: Path) -> None:
    """Runs the openssl CLI, raising with its stderr if it fails."""
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}")


def make_pki(d: Path) -> None:
    """Creates ca.pem/ca.key (a P-256 root) and tsa.pem/tsa.key in `d`, unless present."""
    if all((d / name).exists() for name in ("ca.pem", "tsa.pem", "tsa.key")):
        return
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    openssl("genpkey", *ec, "-out", "ca.key", cwd=d)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Keel E2E Test TSA Root",
            "-days", "3650", "-sha256", "-out", "ca.pem",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("genpkey", *ec, "-out", "tsa.key", cwd=d)
    openssl("req", "-new", "-key", "tsa.key", "-subj", "/CN=Keel E2E Test TSA", "-out", "tsa.csr",
            cwd=d)
    (d / "tsa_ext.cnf").write_text(TSA_EXTENSIONS)
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", "2", "-days", "3650", "-sha256", "-extfile", "tsa_ext.cnf",
            "-extensions", "tsa_ext", "-out", "tsa.pem", cwd=d)


def write_config(d: Path) -> Path:
    """Writes the `[tsa]` section `openssl ts -reply` reads."""
    serial = d / "tsa-serial"
    if not serial.exists():
        serial.write_text("00\n")
    config = d / "tsa.cnf"
    config.write_text(
        "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\n"
        f"serial = {serial}\ncrypto_device = builtin\nsigner_digest = sha256\n"
        f"default_policy = {POLICY}\ndigests = sha256, sha384, sha512\n"
        "accuracy = secs:1\nclock_precision_digits = 3\nordering = no\ntsa_name = yes\n"
        "ess_cert_id_chain = no\ness_cert_id_alg = sha256\n"
    )
    return config


class Tsa:
    """The TSA's state: its files, its mode and its request counter."""

    def __init__(self, d: Path):
        self.dir = d
        self.config = write_config(d)
        self.mode = "ok"
        self.requests = 0
        # openssl ts -reply reads and rewrites the serial file: one reply at a time.
        self.lock = threading.Lock()

    def reply(self, query: bytes) -> bytes:
        """Runs `openssl ts -reply` on a DER query."""
        with self.lock, tempfile.TemporaryDirectory(dir=self.dir) as work:
            q, r = Path(work) / "q.tsq", Path(work) / "r.tsr"
            q.write_bytes(query)
            openssl("ts", "-reply", "-queryfile", str(q), "-config", str(self.config),
                    "-signer", "tsa.pem", "-inkey", "tsa.key", "-chain", "ca.pem",
                    "-out", str(r), cwd=self.dir)
            return r.read_bytes()


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the server's [`Tsa`]."""

    server: "TsaHttpServer"

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, value: object, status: int = 200) -> None:
        self.send(status, json.dumps(value).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        tsa = self.server.tsa
        url = urlsplit(self.path)
        if url.path == "/stats":
            with tsa.lock:
                self.send_json({"requests": tsa.requests, "mode": tsa.mode})
        elif url.path == "/fail":
            mode = parse_qs(url.query).get("status", ["500"])[0]
            if mode not in ("500", "reject", "ok"):
                self.send_json({"error": "status must be 500, reject or ok"}, 400)
                return
            with tsa.lock:
                tsa.mode = mode
            self.send_json({"mode": mode})
        else:
            self.send_json({"error": "not found"}, 404)

    def do_POST(self) -> None:  # noqa: N802
        tsa = self.server.tsa
        if urlsplit(self.path).path != "/":
            self.send_json({"error": "not found"}, 404)
            return
        with tsa.lock:
            tsa.requests += 1
            mode = tsa.mode
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get_content_type() != "application/timestamp-query":
            self.send_json({"error": "Content-Type must be application/timestamp-query"}, 415)
        elif not 0 < length <= MAX_QUERY:
            self.send_json({"error": "bad Content-Length"}, 400)
        elif mode == "500":
            self.rfile.read(length)
            self.send_json({"error": "told to fail"}, 500)
        elif mode == "reject":
            self.rfile.read(length)
            self.send(200, REJECTION, "application/timestamp-reply")
        else:
            try:
                body = tsa.reply(self.rfile.read(length))
            except RuntimeError as err:
                self.send_json({"error": str(err)}, 500)
                return
            self.send(200, body, "application/timestamp-reply")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        sys.stderr.write(f"tsa_server: {format % args}\n")


class TsaHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, tsa: Tsa):
        super().__init__(("127.0.0.1", port), Handler)
        self.tsa = tsa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--dir", type=Path, help="directory for the CA and TSA files (kept)")
    args = parser.parse_args()

    temporary = args.dir is None
    d = Path(tempfile.mkdtemp(prefix="keel-tsa-")) if temporary else args.dir.resolve()
    d.mkdir(parents=True, exist_ok=True)
    make_pki(d)
    server = TsaHttpServer(args.port, Tsa(d))

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(json.dumps({"url": f"http://{host}:{port}/", "ca": str(d / "ca.pem"), "pid": os.getpid()}),
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if temporary:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
