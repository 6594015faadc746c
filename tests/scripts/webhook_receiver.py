"""A partner's webhook receiver for the delivery tests.

HTTPS on 127.0.0.1 with a certificate for the host named on the command line, issued by a CA of its
own that it prints for the deliverer to trust. Each delivery is checked with the Standard Webhooks
reference library (standardwebhooks, in .venv) under the endpoints' secrets, one a line on
standard input (each acknowledged with a line {"secrets": n}); one that verifies suffices. How it answers is told by the path posted to (a query is ignored, so
several endpoints can share one behaviour):

  /ok          200
  /flaky/N     500 to the first N deliveries of each webhook-id, then 200
  /gone        410 Gone
  /redirect    302 to /ok, which a deliverer must not follow
  /hang        nothing, for a minute
  /garbage     bytes that are not HTTP, then the connection closed
  /large       200 and a body of 64 MiB

Prints one JSON line {"port", "ca"} once listening, then one per request received: its path, the
three webhook-* headers, the body and whether the reference library verified it.
"""

import datetime
import json
import os
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HOST = sys.argv[1]
SECRETS = []
LOCK = threading.Lock()
FAILURES = {}


def certificate(subject, issuer, public_key, signing_key, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def tls_context():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("webhook receiver test CA", "webhook receiver test CA", ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate(HOST, "webhook receiver test CA", key.public_key(), ca_key, False)
    pem = lambda cert: cert.public_bytes(serialization.Encoding.PEM).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as chain:
        chain.write(pem(leaf))
        chain.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain.name)
    # The key is in the context now; nothing of it stays on disk.
    os.unlink(chain.name)
    return context, pem(ca)


def report(line):
    with LOCK:
        print(json.dumps(line), flush=True)


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name: self.headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        verified_by = []
        for n, secret in enumerate(list(SECRETS)):
            try:
                Webhook(secret).verify(body, headers)
                verified_by.append(n)
            except WebhookVerificationError:
                pass
        report({"path": self.path, "headers": headers, "body": body.decode(), "verified": bool(verified_by),
                "verifiedBy": verified_by})
        route = self.path.split("?")[0]
        if route == "/ok":
            self.answer(200)
        elif route.startswith("/flaky/"):
            with LOCK:
                seen = FAILURES.get(headers["webhook-id"], 0)
                FAILURES[headers["webhook-id"]] = seen + 1
            self.answer(500 if seen < int(route.split("/")[2]) else 200)
        elif route == "/gone":
            self.answer(410)
        elif route == "/redirect":
            self.answer(302, location=f"https://{HOST}:{self.server.server_port}/ok")
        elif route == "/hang":
            time.sleep(60)
        elif route == "/garbage":
            self.wfile.write(b"\x00\x01 this is not HTTP \r\n\r\n")
            self.close_connection = True
        elif route == "/large":
            self.send_response(200)
            self.send_header("content-length", str(64 << 20))
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"x" * (1 << 20))
            except OSError:
                pass
            self.close_connection = True
        else:
            self.answer(404)

    def answer(self, status, location=None):
        self.send_response(status)
        if location:
            self.send_header("location", location)
        self.send_header("content-length", "0")
        self.end_headers()


def main():
    context, ca = tls_context()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    report({"port": server.server_port, "ca": ca})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for line in sys.stdin:
        SECRETS.append(line.strip())
        report({"secrets": len(SECRETS)})


if __name__ == "__main__":
    main()
