#!/usr/bin/env python3
"""`make bench`: size, cold start, memory and warm latency of every Lambda, as built for release.

Each `target/lambda/<fn>/bootstrap` runs here against a minimal Lambda Runtime API served by this
script (no Docker). Per function it prints:
  - the zipped package size;
  - init: from starting the process to its first `GET /2018-06-01/runtime/invocation/next`, median
    and p95 over BENCH_STARTS starts (default 30, the functions taking turns), beside the same
    figure for a hello-world `lambda_runtime` function built with the same profile
    (bench/hello-lambda);
  - of that init, the time the function spent loading (its own `cold start loaded` log line: the
    configuration, and the AWS reads where there are any), apart from the process start;
  - peak memory (VmHWM) after init and one invocation, for every function;
  - the first request after a cold start, as a user waits for it (init + that request), for sign-in,
    refresh and profile, over BENCH_FIRST starts (default 15);
  - warm latency p50 and p99 over BENCH_WARM invocations (default 50) against moto, each a real
    request of a real flow on the sandbox partner; how many Argon2 operations a request runs, with
    the Argon2 times measured apart (bench/argon2-timing).
Prerequisites (the Makefile's `bench` target builds them): the release bootstraps, hello-lambda,
argon2-timing, and the debug `devstack` and `partners` programs that set up moto.

moto is served over TLS (a CA and a certificate for 127.0.0.1 made here), so the handshakes the
SDK makes at a cold start are counted as they would be against AWS; the functions trust that CA
alone (AWS_TRUST_ROOTS=system, SSL_CERT_FILE), one certificate as the built-in Amazon roots are five.
"""

import copy
import http.server
import io
import json
import os
import pathlib
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# BENCH_LAMBDA: another build's bootstraps (an older commit's, for a before-and-after).
LAMBDA = pathlib.Path(os.environ.get("BENCH_LAMBDA", ROOT / "target" / "lambda"))
# BENCH_ONLY=first: only the first-request-after-cold-start rows; BENCH_ONLY=init: only the init table.
ONLY = os.environ.get("BENCH_ONLY", "")
STATE = ROOT / ".local"
VENV = pathlib.Path(os.environ.get("VENV", ROOT / ".venv"))
STARTS = int(os.environ.get("BENCH_STARTS", "30"))
FIRST = int(os.environ.get("BENCH_FIRST", "15"))
WARM = int(os.environ.get("BENCH_WARM", "50"))
PARTNER = "bece038f-2e46-49f4-b25e-89cd38d6dc16"  # registered as a sandbox partner below
PASSWORD = "Bench-pass-9"
SEND_COOLDOWN_SECS = 61
NEXT = "/2018-06-01/runtime/invocation/next"


def make_tls(directory):
    """A CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "bench-ca.pem", directory / "bench-cert.pem", directory / "bench-key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    """What the runtime API knows of one bootstrap process."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.first_next = None
        self.polled = threading.Event()
        self.delivered = {}


class RuntimeApi:
    """The runtime API of one bootstrap process: hands it events on /next, collects its answers.
    Each process gets its own server, on its own port. With one shared server, a killed process's
    last `GET /next`, still on its way to a handler thread, could be served from the next process's
    session: it took that process's first event and wrote it to a closed socket (an invocation that
    never arrived), and counted as that process's first poll."""

    def __init__(self):
        self.session = Session()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes; with Nagle on, each event would wait for the
            # client's delayed ACK (40 ms on Linux) and every latency would carry it.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != NEXT:
                    self.send_error(404)
                    return
                session = api.session
                if session.first_next is None:
                    session.first_next = time.perf_counter_ns()
                    session.polled.set()
                item = session.events.get()
                if item is None:  # the process is being stopped
                    return
                request_id, body = item
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                session.delivered[request_id] = time.perf_counter_ns()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                now = time.perf_counter_ns()
                parts = self.path.split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if self.path.endswith("/init/error"):
                    api.session.answers.put(("init", "error", body, now))
                elif len(parts) >= 6:
                    api.session.answers.put((parts[4], parts[5], body, now))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        # One request before the process starts, so the server's thread is already waiting in
        # accept and its start is not counted in the process's init.
        try:
            urllib.request.urlopen(f"http://{self.address}/ready", timeout=5)
        except urllib.error.HTTPError:
            pass

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Bootstrap:
    """A bootstrap process started against the runtime API."""

    def __init__(self, binary, env, log):
        self.api = RuntimeApi()
        self.session = session = self.api.session
        env = {**env, "AWS_LAMBDA_RUNTIME_API": self.api.address}
        # As template.yaml gives it: the pepper's ARN only to the functions that seal or check codes.
        if pathlib.Path(binary).parent.name not in PEPPERED:
            env.pop("CODE_PEPPER_SECRET_ARN", None)
        # Builds from before the public keys came with the deploy read them from KMS at init, by
        # these ARNs (BENCH_LAMBDA pointing at such a build, for a before-and-after).
        if "SIGNING_KEY_ARN" in env:
            env.setdefault("TOKEN_KEY_ARNS", env["SIGNING_KEY_ARN"])
        self.load_ms = float("nan")
        loaded = threading.Event()
        started = time.perf_counter_ns()
        self.process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.PIPE, stderr=log)

        def copy_out(pipe):
            # The function's lines go to the shared log; its `cold start loaded` line gives load_ms.
            for line in pipe:
                log.write(line)
                if not loaded.is_set() and b"cold start loaded" in line:
                    try:
                        self.load_ms = float(json.loads(line)["load_ms"])
                    except (ValueError, KeyError):
                        pass
                    loaded.set()

        threading.Thread(target=copy_out, args=(self.process.stdout,), daemon=True).start()
        if not session.polled.wait(30):
            self.stop()
            raise RuntimeError(f"{binary} never asked for an event")
        self.init_ms = (session.first_next - started) / 1e6
        # hello-world logs nothing; a function logs before its first poll, so this waits briefly.
        loaded.wait(0.5 if "hello" not in str(binary) else 0)

    def peak_rss_mb(self):
        for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def invoke(self, event):
        request_id = str(uuid.uuid4())
        self.session.events.put((request_id, json.dumps(event).encode()))
        got_id, kind, body, at = self.session.answers.get(timeout=60)
        if got_id != request_id or kind != "response":
            raise RuntimeError(f"invocation failed ({kind}): {body[:300]!r}")
        response = json.loads(body)
        latency_ms = (at - self.session.delivered[request_id]) / 1e6
        text = response.get("body") or ""
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return response.get("statusCode"), payload, latency_ms

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.session.events.put(None)
        self.api.close()


def stuck(bootstrap, stack, log):
    """What a function that stopped answering was doing: its sockets, moto's threads, both logs."""
    log.flush()
    try:
        sockets = subprocess.run(["ss", "-tnp"], capture_output=True, text=True).stdout
        mine = "\n".join(line for line in sockets.splitlines() if f"pid={bootstrap.process.pid}," in line)
    except OSError as error:  # no `ss` here: the report goes on without the sockets
        mine = f"(ss: {error})"
    stack.moto.send_signal(signal.SIGUSR1)
    time.sleep(1)
    functions = (STATE / "bench-functions.log").read_bytes()[-1500:].decode(errors="replace")
    moto = (STATE / "bench-moto.log").read_bytes()[-6000:].decode(errors="replace")
    return f"function sockets:\n{mine}\nlast function log lines:\n{functions}\nmoto's threads and log:\n{moto}"


def peppered_functions():
    """The binaries template.yaml gives CODE_PEPPER_SECRET_ARN (the others read no pepper on AWS)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    out = set()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        variables = ((resource["Properties"].get("Environment") or {}).get("Variables") or {})
        if "CODE_PEPPER_SECRET_ARN" in variables:
            out.add(resource["Metadata"]["BuildProperties"]["Binary"])
    return out


PEPPERED = peppered_functions()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * p))]


def zipped_mb(path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return len(buffer.getvalue()) / 1048576


def fresh_phone():
    return f"+447871{random.randrange(1_000_000):06d}"


def fresh_email(kind):
    # Not "bench": the password must not contain the address's local part.
    return f"user.{kind}.{uuid.uuid4().hex[:12]}@example.com"


class Stack:
    """moto with the table, the SES sender and the sandbox partner, and the functions' environment."""

    def __init__(self):
        STATE.mkdir(exist_ok=True)
        self.moto_port = free_port()
        self.endpoint = f"https://127.0.0.1:{self.moto_port}"
        self.ca, cert, key = make_tls(STATE)
        self.tls = __import__("ssl").create_default_context(cafile=str(self.ca))
        self.moto_log = open(STATE / "bench-moto.log", "wb")
        self.moto = subprocess.Popen(
            [str(VENV / "bin" / "python"), str(ROOT / "scripts" / "moto_server.py"), "-H", "127.0.0.1", "-p",
             str(self.moto_port), "-c", str(cert), "-k", str(key)],
            stdout=subprocess.DEVNULL,
            stderr=self.moto_log,
        )
        for _ in range(200):
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/data.json", timeout=1, context=self.tls)
                break
            except OSError:
                time.sleep(0.1)
        table = "registration-bench"
        base = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "TABLE_NAME": table,
            "SES_SENDER": "no-reply@registration.local",
            "SSL_CERT_FILE": str(self.ca),
        }
        debug = ROOT / "target" / "debug"
        subprocess.run([str(debug / "devstack"), "setup"], env=base, check=True, stdout=subprocess.DEVNULL)
        secrets = subprocess.run([str(debug / "devstack"), "env"], env=base, check=True, capture_output=True, text=True)
        subprocess.run(
            [str(debug / "partners"), "add", "--id", PARTNER, "--name", "Bench (sandbox)", "--sandbox", "--sms-countries", "GB"],
            env=base,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            # moto's certificate is the bench's own CA's, trusted alone: see the module's docstring.
            "AWS_TRUST_ROOTS": "system",
            "SSL_CERT_FILE": str(self.ca),
            "STACK_NAME": "bench",
            "TABLE_NAME": table,
            "TOKEN_ISSUER": "https://auth.bench.local",
            "EMAIL_SENDER": "no-reply@registration.local",
            "PUBLIC_BASE_URL": "https://auth.bench.local",
            # One client address here: the per-IP limits would stop the flows.
            "RATE_LIMITS": "send=1000000,verify=1000000,refresh=1000000,contact=1000000,phones=1000000,emails=1000000",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
        }
        for line in secrets.stdout.splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value

    def stop(self):
        self.moto.kill()
        self.moto.wait()
        self.moto_log.close()


def event(function, body=None, auth=None, query=None, accept="application/json"):
    """The function's fixture from events/, with this request's body, bearer token and query."""
    name = {"signup-email": "signup-email", "token": "token-password"}.get(function, function)
    fixture = json.loads((ROOT / "events" / f"{name}.json").read_text())
    e = copy.deepcopy(fixture)
    headers = e["headers"]
    headers.pop("authorization", None)
    if "x-merchant-id" in headers:
        headers["x-merchant-id"] = PARTNER
    if auth:
        headers["authorization"] = f"Bearer {auth}"
    headers["accept"] = accept
    headers["content-type"] = "application/json"
    e["body"] = json.dumps(body) if body is not None else None
    if query:
        e["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        e["queryStringParameters"] = query
    e["requestContext"]["requestId"] = str(uuid.uuid4())
    return e


def fixture(name):
    """The fixture from events/ as it is, with a fresh request id."""
    e = json.loads((ROOT / "events" / f"{name}.json").read_text())
    e["requestContext"]["requestId"] = str(uuid.uuid4())
    return e


def session_end(session_id, auth):
    e = event("session-end", auth=auth)
    e["rawPath"] = e["rawPath"].replace("REPLACE_WITH_A_SESSION_ID", session_id)
    e["requestContext"]["http"]["path"] = e["rawPath"]
    e["pathParameters"] = {"id": session_id}
    return e


class Flows:
    """Real requests in an order that lets each function find the state it needs."""

    def __init__(self, n):
        self.n = n
        self.phones = [fresh_phone() for _ in range(n)]
        self.tokens = []  # (access, refresh) per phone account, from phone-confirm
        self.signed_in = []  # (access, refresh) from the token runs: the sessions revoke ends
        self.email_tokens = []  # access tokens of email-first accounts
        self.emails_added_at = None
        self.links = []

    def plan(self):
        """(function, label, Argon2 operations per request, event for request i, what to keep)."""
        n = self.n
        details = {"firstName": "Ana", "lastName": "Lima", "birthDate": "1990-04-23", "country": "PT",
                   "city": "Porto", "address": "Rua das Flores 12", "postalCode": "4050-262"}
        emails = [fresh_email("first") for _ in range(n)]
        added = [fresh_email("added") for _ in range(n)]

        def keep_tokens(target):
            return lambda i, status, body: target.append((body["access_token"], body["refresh_token"]))

        def keep_link(i, status, body):
            self.links.append(body["sandbox"]["confirmationLink"].split("token=", 1)[1])

        def mark_added(i, status, body):
            self.emails_added_at = self.emails_added_at or time.monotonic()

        def wait_cooldown():
            waited = SEND_COOLDOWN_SECS - (time.monotonic() - (self.emails_added_at or 0))
            if waited > 0:
                print(f"  (waiting {waited:.0f} s for the 60 s send cooldown of the same mailboxes and phones)", flush=True)
                time.sleep(waited)

        email_first = []
        return [
            ("jwks", "jwks", 0, lambda i: event("jwks"), None, None),
            ("signup", "signup (new phone)", 1, lambda i: event("signup", {"phone": self.phones[i], "password": PASSWORD}), None, None),
            ("phone-confirm", "phone-confirm", 0, lambda i: event("phone-confirm", {"phone": self.phones[i], "code": "12345"}), keep_tokens(self.tokens), None),
            ("phone-resend", "phone-resend (no pending signup)", 0, lambda i: event("phone-resend", {"phone": fresh_phone()}), None, None),
            ("token", "token (password grant)", 1, lambda i: event("token", {"grant_type": "password", "username": self.phones[i], "password": PASSWORD}), keep_tokens(self.signed_in), None),
            ("revoke", "revoke", 0, lambda i: event("revoke", {"token": self.signed_in[i][1]}), None, None),
            ("profile-update", "profile-update", 0, lambda i: event("profile-update", details, auth=self.tokens[i][0]), None, None),
            ("profile-get", "profile-get", 0, lambda i: event("profile-get", auth=self.tokens[i][0]), None, None),
            ("phone-change", "phone-change (code)", 1, lambda i: event("phone-change", {"phone": fresh_phone(), "password": PASSWORD}, auth=self.tokens[i][0]), None, None),
            ("email-add", "email-add", 0, lambda i: event("email-add", {"email": added[i]}, auth=self.tokens[i][0]), mark_added, None),
            ("signup-email", "signup-email (code)", 0, lambda i: event("signup-email", {"email": emails[i], "password": PASSWORD}), None, None),
            ("signup-email", "signup-email (account)", 1, lambda i: event("signup-email", {"email": emails[i], "password": PASSWORD, "emailConfirmCode": "12345"}), keep_tokens(email_first), None),
            ("phone-add", "phone-add (code)", 0, lambda i: event("phone-add", {"phone": fresh_phone()}, auth=email_first[i][0]), None, None),
            ("password-change", "password-change", 3, lambda i: event("password-change", {"oldPassword": PASSWORD, "newPassword": PASSWORD + "x"}, auth=self.tokens[i][0]), None, None),
            ("email-resend", "email-resend", 0, lambda i: event("email-resend", auth=self.tokens[i][0]), keep_link, wait_cooldown),
            ("email-confirm", "email-confirm", 0, lambda i: event("email-confirm", query={"token": self.links[i]}), None, None),
            ("password-forgot", "password-forgot (account)", 0, lambda i: event("password-forgot", {"phone": self.phones[i]}), None, None),
            ("password-reset", "password-reset", 3, lambda i: event("password-reset", {"phone": self.phones[i], "code": "12345", "password": PASSWORD + "y"}), None, None),
            # Every function has a row, so each has its memory and a warm figure. After the reset the
            # phone accounts' tokens are ended; the email-first accounts' still work.
            ("sessions-list", "sessions-list", 0, lambda i: event("sessions-list", auth=email_first[i][0]), None, None),
            ("session-end", "session-end (unknown id: 404)", 0, lambda i: session_end(str(uuid.uuid4()), email_first[i][0]), None, None),
            ("account-export", "account-export", 0, lambda i: event("account-export", auth=email_first[i][0]), None, None),
            ("kyc-sumsub-token", "kyc-sumsub-token (Sumsub off: 403)", 0, lambda i: event("kyc-sumsub-token", auth=email_first[i][0]), None, None),
            ("sumsub-webhook", "sumsub-webhook (unsigned: 401)", 0, lambda i: fixture("sumsub-webhook"), None, None),
            ("deletion-page", "deletion-page (the page)", 0, lambda i: fixture("deletion-page"), None, None),
            ("sessions-end-others", "sessions-end-others", 0, lambda i: event("sessions-end-others", auth=email_first[i][0]), None, None),
            ("account-delete", "account-delete", 1, lambda i: event("account-delete", {"password": PASSWORD}, auth=email_first[i][0]), None, None),
        ]


def first_requests(env, log):
    """Sign-in, refresh and profile, each the first request of a process just started: what a user
    waits for when their request meets a cold start. Returns (label, inits, first requests)."""
    phones = [fresh_phone() for _ in range(FIRST)]
    warm_signup = Bootstrap(LAMBDA / "signup" / "bootstrap", env, log)
    warm_confirm = Bootstrap(LAMBDA / "phone-confirm" / "bootstrap", env, log)
    try:
        for phone in phones:
            assert warm_signup.invoke(event("signup", {"phone": phone, "password": PASSWORD}))[0] == 200
            assert warm_confirm.invoke(event("phone-confirm", {"phone": phone, "code": "12345"}))[0] == 200
    finally:
        warm_signup.stop()
        warm_confirm.stop()

    def cold(function, make):
        inits, requests, answers = [], [], []
        for i in range(FIRST):
            b = Bootstrap(LAMBDA / function / "bootstrap", env, log)
            try:
                status, body, ms = b.invoke(make(i))
            finally:
                b.stop()
            if status != 200:
                raise RuntimeError(f"{function}: first request answered {status}: {body}")
            inits.append(b.init_ms)
            requests.append(ms)
            answers.append(body)
        return inits, requests, answers

    sign_in = cold("token", lambda i: event("token", {"grant_type": "password", "username": phones[i], "password": PASSWORD}))
    refresh = cold("token", lambda i: event("token", {"grant_type": "refresh_token", "refresh_token": sign_in[2][i]["refresh_token"]}))
    profile = cold("profile-get", lambda i: event("profile-get", auth=refresh[2][i]["access_token"]))
    return [("sign-in (token, password grant)", *sign_in[:2]), ("refresh (token)", *refresh[:2]), ("profile-get", *profile[:2])]


def main():
    hello = LAMBDA / "hello-lambda" / "bootstrap"
    functions = sorted(p.parent.name for p in LAMBDA.glob("*/bootstrap") if p.parent.name != "hello-lambda")
    if not hello.exists() or not functions:
        sys.exit("bench: build first (make bench builds the bootstraps and hello-lambda)")
    argon2 = subprocess.run([str(ROOT / "target" / "release" / "argon2-timing")], check=True, capture_output=True, text=True).stdout
    stack = Stack()
    log = open(STATE / "bench-functions.log", "wb")
    try:
        print(f"bench: {len(functions)} functions, {STARTS} starts each, {WARM} warm requests per row, moto at {stack.endpoint}", flush=True)
        env = stack.env
        if ONLY == "first":
            for label, inits, requests in first_requests(env, log):
                together = [a + b for a, b in zip(inits, requests)]
                print(f"| {label} ({LAMBDA}) | {statistics.median(inits):.1f} ms | {statistics.median(requests):.1f} ms | "
                      f"{statistics.median(together):.1f} ms | {percentile(together, 0.95):.1f} ms |")
            return

        # Round-robin, hello-world included: whatever the machine does meanwhile (frequency, other
        # load) touches every function alike, so the ratios hold even when the absolute figures move.
        binaries = {"hello": hello, **{name: LAMBDA / name / "bootstrap" for name in functions}}
        times = {name: [] for name in binaries}
        loads = {name: [] for name in binaries}
        for _ in range(STARTS):
            for name, binary in binaries.items():
                b = Bootstrap(binary, env, log)
                times[name].append(b.init_ms)
                if b.load_ms == b.load_ms:  # not nan
                    loads[name].append(b.load_ms)
                b.stop()
        hello_p50, hello_p95 = statistics.median(times["hello"]), percentile(times["hello"], 0.95)
        cold = {}
        for name in functions:
            cold[name] = (zipped_mb(binaries[name]), statistics.median(times[name]), percentile(times[name], 0.95))

        if ONLY == "init":
            print(f"hello-world init p50 {hello_p50:.1f} ms, p95 {hello_p95:.1f} ms")
            for name in functions:
                size, p50, p95 = cold[name]
                load = statistics.median(loads[name]) if loads[name] else float("nan")
                print(f"| {name} | {size:.2f} MB | {p50:.1f} ms | {p95:.1f} ms | {p50 / hello_p50:.2f}x | {load:.1f} ms |")
            return

        first = first_requests(env, log)

        flows = Flows(WARM)
        warm = []
        peak = {}
        for function, label, hashes, make, keep, before in flows.plan():
            if before:
                before()
            b = Bootstrap(LAMBDA / function / "bootstrap", env, log)
            latencies, statuses, unexpected = [], {}, None
            try:
                for i in range(WARM):
                    try:
                        status, body, ms = b.invoke(make(i))
                    except queue.Empty:
                        raise RuntimeError(f"{label}: request {i} got no answer in 60 s\n{stuck(b, stack, log)}") from None
                    statuses[status] = statuses.get(status, 0) + 1
                    if status >= 300 and unexpected is None:
                        unexpected = body
                    if i == 0:
                        peak[function] = max(peak.get(function, 0), b.peak_rss_mb())
                    latencies.append(ms)
                    if keep and status == 200:
                        keep(i, status, body)
            finally:
                b.stop()
            # The first request opens the connections; warm figures are the rest.
            rest = latencies[1:]
            warm.append((label, hashes, statistics.median(rest), percentile(rest, 0.99), statuses))
            print(f"  {label}: statuses {statuses}" + (f"; first other answer: {unexpected}" if unexpected else ""), flush=True)

        print()
        print(f"hello-world lambda_runtime init: p50 {hello_p50:.1f} ms, p95 {hello_p95:.1f} ms (target for every function: p50 <= {1.5 * hello_p50:.1f} ms)")
        print()
        print("| function | zipped | init p50 | init p95 | init / hello | loading, in the background (p50) | peak RSS after init + 1 request |")
        print("|---|---|---|---|---|---|---|")
        for name in functions:
            size, p50, p95 = cold[name]
            rss = peak.get(name, float("nan"))
            load = statistics.median(loads[name]) if loads[name] else float("nan")
            print(f"| {name} | {size:.2f} MB | {p50:.1f} ms | {p95:.1f} ms | {p50 / hello_p50:.2f}x | {load:.1f} ms | {rss:.1f} MB |")
        print(f"| (hello-world) | {zipped_mb(hello):.2f} MB | {hello_p50:.1f} ms | {hello_p95:.1f} ms | 1.00x | | |")
        print()
        print(f"| first request after a cold start (TLS to moto, {FIRST} starts) | init p50 | first request p50 | together p50 | together p95 |")
        print("|---|---|---|---|---|")
        for label, inits, requests in first:
            together = [a + b for a, b in zip(inits, requests)]
            print(f"| {label} | {statistics.median(inits):.1f} ms | {statistics.median(requests):.1f} ms | "
                  f"{statistics.median(together):.1f} ms | {percentile(together, 0.95):.1f} ms |")
        print()
        print(f"| request (warm, {WARM - 1} after the first, against moto) | Argon2 ops | p50 | p99 |")
        print(f"|---|---|---|---|")
        for label, hashes, p50, p99, _ in warm:
            print(f"| {label} | {hashes} | {p50:.1f} ms | {p99:.1f} ms |")
        print()
        for line in argon2.strip().splitlines():
            print(line)
    finally:
        log.close()
        stack.stop()


if __name__ == "__main__":
    main()
