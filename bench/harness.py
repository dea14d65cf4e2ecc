#!/usr/bin/env python3
"""The bench harness: a local Lambda Runtime API, a counting proxy in front of LocalStack, and the
interleaved runs that measure cold init, invocation time, CPU time, peak RSS and scale.

Standard library only (cbor2 is used when importable, to count datums in CBOR requests; the
LocalStack venv has it). `scripts/bench` builds everything and calls this; run it directly with
`--help` to measure other binaries.

What it measures, per spawned Lambda process (each run is a fresh process, as a cold start is):
  cold init    Popen() until the runtime's first GET /2018-06-01/runtime/invocation/next
  invocation   event written to that GET → POST .../response received (per invocation)
  cpu          utime+stime of the process (/proc/<pid>/stat, 10 ms ticks) and the sum of the
               per-thread schedstat run times (ns), read before delivering an event and after the
               runtime asks for the next one
  peak RSS     VmHWM from /proc/<pid>/status after the last invocation
  AWS calls    every request through the proxy: operation, HTTP status, size, datums
  file opens   with --strace: one more init per kind under `strace -f -C`, stopped at the first
               /next: open/openat calls (the -c summary) and the paths they opened, by kind

Builds compared in the same run (--compare LABEL=PATH, other commits or features of the canary)
get their own alert-1@LABEL and scale-1@LABEL kinds, interleaved with all the others.
"""

import argparse
import gzip
import http.client
import json
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:  # CloudWatch speaks Smithy RPC v2 CBOR; decoding it lets us count datums exactly.
    import cbor2  # type: ignore
except ImportError:  # pragma: no cover - the counts then come from call counts only
    cbor2 = None

RUNTIME_PREFIX = "/2018-06-01/runtime"
NS = 1_000_000_000


def now_ns():
    return time.perf_counter_ns()


# ---- the Lambda Runtime API ------------------------------------------------------------------


class RuntimeApi:
    """One Runtime API endpoint for one Lambda process: hands out queued events, records times."""

    def __init__(self):
        self.events = queue.Queue()
        self.cond = threading.Condition()
        self.nexts = []  # arrival time of every GET .../invocation/next
        self.delivered = {}  # request id -> time the event was written
        self.responses = {}  # request id -> (time, kind, body)
        self.init_error = None
        self.closed = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; without this, Nagle plus delayed ACKs add
            # 40 ms to every response on a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                arrived = now_ns()
                if self.path != RUNTIME_PREFIX + "/invocation/next":
                    self._reply(404, b'{"errorMessage":"not found"}')
                    return
                with api.cond:
                    api.nexts.append(arrived)
                    api.cond.notify_all()
                while True:
                    try:
                        rid, payload, deadline_ms = api.events.get(timeout=0.2)
                        break
                    except queue.Empty:
                        if api.closed:
                            return
                body = json.dumps(payload).encode()
                with api.cond:
                    api.delivered[rid] = now_ns()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:health-canary",
                )
                self.send_header(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_POST(self):
                body = read_body(self)
                arrived = now_ns()
                path = self.path
                m = re.fullmatch(RUNTIME_PREFIX + r"/invocation/([^/]+)/(response|error)", path)
                with api.cond:
                    if m:
                        api.responses[m.group(1)] = (arrived, m.group(2), body)
                    elif path == RUNTIME_PREFIX + "/init/error":
                        api.init_error = body.decode("utf-8", "replace")
                    api.cond.notify_all()
                self._reply(202, b'{"status":"OK"}')

            def _reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, payload, timeout_s):
        rid = str(uuid.uuid4())
        deadline_ms = int(time.time() * 1000 + timeout_s * 1000)
        self.events.put((rid, payload, deadline_ms))
        return rid

    def wait(self, predicate, timeout_s, proc, what):
        end = time.monotonic() + timeout_s
        with self.cond:
            while not predicate():
                if self.init_error is not None:
                    raise RunError(f"init error while waiting for {what}: {self.init_error}")
                if proc.poll() is not None:
                    raise RunError(f"process exited ({proc.returncode}) while waiting for {what}")
                left = end - time.monotonic()
                if left <= 0:
                    raise RunError(f"timed out after {timeout_s} s waiting for {what}")
                self.cond.wait(min(left, 0.05))

    def close(self):
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


class RunError(Exception):
    pass


def read_body(handler):
    """Reads a request body, by Content-Length or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                while handler.rfile.readline().strip():
                    pass
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


# ---- the counting proxy in front of LocalStack --------------------------------------------------


class CountingProxy:
    """Forwards every request to LocalStack and records operation, status, size and datums."""

    def __init__(self, upstream):
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.lock = threading.Lock()
        self.records = []
        self.in_flight = 0
        # When set, PutMetricData is answered here (after decoding and counting it) instead of by
        # LocalStack, whose CloudWatch takes seconds per 1,000-datum call on a busy machine.
        self.ack_put_metric_data = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; without this, Nagle plus delayed ACKs add
            # 40 ms to every response on a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _forward(self):
                started = now_ns()
                with proxy.lock:
                    proxy.in_flight += 1
                try:
                    self._relay(started)
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def _relay(self, started):
                body = read_body(self) if self.command != "GET" else b""
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("transfer-encoding", "connection", "content-length")
                }
                headers["Content-Length"] = str(len(body))
                op = operation_name(self.path, self.headers)
                # Recorded before it completes: a call the canary gives up on still counts as
                # AWS time for the invocation it belongs to.
                record = {"op": op, "status": None, "acked": False, "client": self.client_address[1],
                          "start_ns": started, "end_ns": None, "wire_bytes": len(body),
                          "raw_bytes": None, "datums": None}
                with proxy.lock:
                    proxy.records.append(record)
                acked = proxy.ack_put_metric_data and op == "PutMetricData"
                dynamodb = self.headers.get("X-Amz-Target", "").startswith("DynamoDB_")
                if dynamodb:
                    # The bench's LocalStack has no DynamoDB (it needs a Java download); the
                    # DynamoDB client's calls (the dynamodb variant) get an empty success here.
                    status, data, resp_headers = 200, b"{}", [("Content-Type", "application/x-amz-json-1.0")]
                    acked = True
                elif acked:
                    status, data, resp_headers = ack_put_metric_data(self.path, self.headers)
                else:
                    conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                    try:
                        conn.request(self.command, self.path, body=body, headers=headers)
                        resp = conn.getresponse()
                        data = resp.read()
                        status, resp_headers = resp.status, resp.getheaders()
                    finally:
                        conn.close()
                self.send_response(status)
                for k, v in resp_headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                record.update(status=status, acked=acked, end_ns=now_ns())
                # Decoding happens after the answer, so counting datums costs the canary nothing.
                record.update(describe_request(self.path, self.headers, body))

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def drain(self, timeout_s=90.0):
        """Waits until LocalStack has answered every forwarded request: a call the canary gave up
        on keeps LocalStack busy, and must not slow the next run down."""
        end = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < end:
            time.sleep(0.1)

    def take(self):
        with self.lock:
            out, self.records = self.records, []
        return out


def ack_put_metric_data(path, headers):
    """CloudWatch's success answer to PutMetricData (an empty output) in the request's protocol."""
    if "/operation/" in path:  # Smithy RPC v2 CBOR: an empty map
        return 200, b"\xa0", [("smithy-protocol", "rpc-v2-cbor"), ("Content-Type", "application/cbor")]
    if headers.get("X-Amz-Target"):
        return 200, b"{}", [("Content-Type", "application/x-amz-json-1.0")]
    body = (
        b'<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
        b"<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PutMetricDataResponse>"
    )
    return 200, body, [("Content-Type", "text/xml")]


def operation_name(path, headers):
    """The AWS operation from the RPC v2 CBOR path or the JSON target ("Query" for the Query
    protocol, whose Action is in the body)."""
    m = re.search(r"/service/[^/]+/operation/([A-Za-z]+)", path)
    if m:
        return m.group(1)
    if headers.get("X-Amz-Target"):
        return headers["X-Amz-Target"].split(".")[-1]
    return "Query"


def describe_request(path, headers, body):
    """Names the AWS operation (RPC v2 CBOR path, JSON X-Amz-Target, or Query Action) and counts
    the datums of a PutMetricData."""
    wire = len(body)
    raw = body
    if headers.get("Content-Encoding", "").lower() == "gzip":
        raw = gzip.decompress(body)
    op, datums = "?", None
    m = re.search(r"/service/[^/]+/operation/([A-Za-z]+)", path)
    if m:
        op = m.group(1)
        if op == "PutMetricData" and cbor2 is not None:
            datums = len(cbor2.loads(raw).get("MetricData", []))
    elif headers.get("X-Amz-Target"):
        op = headers["X-Amz-Target"].split(".")[-1]
        if op == "PutMetricData":
            datums = len(json.loads(raw or b"{}").get("MetricData", []))
    else:
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
        op = (form.get("Action") or ["?"])[0]
        if op == "PutMetricData":
            datums = len({k.split(".")[2] for k in form if k.startswith("MetricData.member.")})
    return {"op": op, "wire_bytes": wire, "raw_bytes": len(raw), "datums": datums}


# ---- /proc readings -----------------------------------------------------------------------------

TICK_NS = NS // os.sysconf("SC_CLK_TCK")


def cpu_ns(pid):
    """(utime+stime in ns from /proc/<pid>/stat, sum of per-thread schedstat run time in ns)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    sched = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                sched += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return ticks * TICK_NS, sched


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


# ---- one Lambda process -------------------------------------------------------------------------


def lambda_env(port, extra):
    """The environment the provided.al2023 runtime gives a function (no host variables leak in)."""
    env = {
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "health-canary",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/health-canary",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/08/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
    }
    env.update(extra)
    return env


def scheduled_event():
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/health-canary-schedule"],
        "detail": {},
    }


def run_lambda(binary, extra_env, invocations, log_path, timeout_s=120.0, proxy=None, server=None):
    """Spawns one Lambda process, serves it `invocations` events, returns its measurements."""
    api = RuntimeApi()
    env = lambda_env(api.port, extra_env)
    if proxy is not None:
        proxy.take()
    with open(log_path, "wb") as log:
        started = now_ns()
        proc = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            api.wait(lambda: len(api.nexts) >= 1, timeout_s, proc, "the first /next")
            out = {"init_ms": (api.nexts[0] - started) / 1e6, "invocations": []}
            out["init_cpu_ms"] = cpu_ns(proc.pid)[1] / 1e6
            seen_ports = set()
            for i in range(invocations):
                server_before = server() if server else None
                before = cpu_ns(proc.pid)
                rid = api.invoke(scheduled_event(), timeout_s)
                api.wait(lambda: rid in api.responses, timeout_s, proc, f"response {i + 1}")
                api.wait(lambda: len(api.nexts) >= i + 2, timeout_s, proc, f"/next {i + 2}")
                after = cpu_ns(proc.pid)
                server_after = server() if server else None
                done, kind, body = api.responses[rid]
                calls = proxy.take() if proxy is not None else []
                ports = {c["client"] for c in calls}
                new_ports, seen_ports = ports - seen_ports, seen_ports | ports
                out["invocations"].append(
                    {
                        "wall_ms": (done - api.delivered[rid]) / 1e6,
                        "cpu_tick_ms": (after[0] - before[0]) / 1e6,
                        "cpu_sched_ms": (after[1] - before[1]) / 1e6,
                        "outcome": kind,
                        "body": body.decode("utf-8", "replace")[:2000],
                        "calls": calls,
                        "aws_new_connections": len(new_ports),
                        "delivered_ns": api.delivered[rid],
                        "done_ns": done,
                        "server": {k: server_after[k] - server_before[k] for k in server_after}
                        if server
                        else None,
                    }
                )
            out["vm_hwm_kib"] = vm_hwm_kib(proc.pid)
        finally:
            proc.kill()
            proc.wait()
            api.close()
    return out


# ---- file opens at init (strace) ----------------------------------------------------------------

# Where an opened path belongs; the first matching prefix wins.
OPEN_KINDS = (
    ("certificates", ("/etc/ssl", "/etc/pki", "/usr/share/ca-certificates", "/usr/lib/ssl", "/usr/local/share/ca-certificates")),
    ("libraries", ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/etc/ld.so")),
    ("proc and sys", ("/proc", "/sys")),
)


def open_kind(path):
    for kind, prefixes in OPEN_KINDS:
        if path.startswith(prefixes):
            return kind
    return "other"


def parse_strace(text):
    """Counts the open/openat calls in an `strace -f -C` log (per-call lines, then the -c table):
    calls and failures from the summary, the opened paths by kind from the lines (with -f a call
    may be split into "<unfinished ...>" and "resumed" lines; only the first names the path)."""
    by_kind, calls, failed = {}, 0, 0
    for line in text.splitlines():
        m = re.search(r'\bopen(?:at2?)?\((?:AT_FDCWD, )?"([^"]*)"', line)
        if m:
            kind = open_kind(m.group(1))
            by_kind[kind] = by_kind.get(kind, 0) + 1
            continue
        # A -c summary row: "% time, seconds, usecs/call, calls, [errors,] syscall".
        parts = line.split()
        if len(parts) in (5, 6) and parts[-1] in ("open", "openat", "openat2") and parts[0][0].isdigit():
            calls += int(parts[3])
            failed += int(parts[4]) if len(parts) == 6 else 0
    return {"calls": calls, "failed": failed, "by_kind": by_kind}


def children(pid):
    """The child processes of `pid` (all its threads')."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def strace_init(strace, binary, extra_env, log_path, timeout_s=120.0):
    """One more cold start of `binary`, under strace, until its first /next: its file opens.
    The traced Lambda is then killed, which ends strace with its -c summary written."""
    api = RuntimeApi()
    env = lambda_env(api.port, extra_env)
    trace = log_path + ".strace"
    cmd = [strace, "-f", "-C", "-qq", "-e", "trace=open,openat,openat2", "-o", trace, "--", binary]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            api.wait(lambda: len(api.nexts) >= 1, timeout_s, proc, "the first /next under strace")
        finally:
            for child in children(proc.pid):
                try:
                    os.kill(child, 9)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            api.close()
    with open(trace) as f:
        return parse_strace(f.read())


# ---- the bench --------------------------------------------------------------------------------


def query_call(localstack, service, params):
    """One Query-protocol call straight to LocalStack (it routes on the credential scope)."""
    req = urllib.request.Request(
        localstack + "/",
        data=urllib.parse.urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request,"
            " SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read().decode()


def warm_up_cloudwatch(localstack):
    """LocalStack loads a service on its first request (seconds); the first measured run must not pay it."""
    query_call(localstack, "monitoring", {
        "Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "BenchWarmUp",
        "MetricData.member.1.MetricName": "WarmUp", "MetricData.member.1.Value": "1",
    })


def create_topic(localstack, name):
    """Creates an SNS topic directly on LocalStack (Query API) and returns its ARN."""
    text = query_call(localstack, "sns", {"Action": "CreateTopic", "Name": name, "Version": "2010-03-31"})
    m = re.search(r"<TopicArn>([^<]+)</TopicArn>", text)
    if not m:
        raise RunError(f"CreateTopic answered without a TopicArn: {text[:300]}")
    return m.group(1)


def create_state_table(dynamodb, name):
    """Creates the alert state table (the template's key schema) on moto; returns its name."""
    body = json.dumps({
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    }).encode()
    req = urllib.request.Request(
        dynamodb + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.CreateTable",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request,"
            " SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()
    return name


def start_server(binary):
    proc = subprocess.Popen([binary], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise RunError(f"sample service did not start: {line!r}")
    return proc, f"http://127.0.0.1:{m.group(1)}"


def server_stats(base, pid):
    """The sample service's request and connection counts and its process's CPU time
    (utime+stime of all its threads)."""
    with urllib.request.urlopen(base + "/__stats", timeout=10) as resp:
        stats = json.loads(resp.read())
    stats["cpu_ms"] = cpu_ns(pid)[0] / 1e6
    return stats


def canary_config(name, base, targets, failing, topic, namespace, table=None):
    cfg = {
        "canary": name,
        "targets": [
            {"name": f"t{i:04d}", "url": f"{base}/scenario/{'market-data-down' if failing else 'healthy'}/{i}"}
            for i in range(targets)
        ],
        "metrics": {"namespace": namespace},
    }
    if topic:
        cfg["alerts"] = {"topic_arn": topic, "state_table": table}
    return cfg


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def outside_aws_ms(inv):
    """Invocation wall time not spent waiting on an AWS call (the union of the calls' intervals,
    clipped to the invocation, is subtracted): the canary's own share of the wall time."""
    lo, hi = inv["delivered_ns"], inv["done_ns"]
    spans = sorted((max(c["start_ns"], lo), min(c["end_ns"] or hi, hi)) for c in inv["calls"])
    busy, cur_s, cur_e = 0, None, None
    for s_, e_ in spans:
        if e_ <= s_:
            continue
        if cur_e is None or s_ > cur_e:
            if cur_e is not None:
                busy += cur_e - cur_s
            cur_s, cur_e = s_, e_
        else:
            cur_e = max(cur_e, e_)
    if cur_e is not None:
        busy += cur_e - cur_s
    return (hi - lo - busy) / 1e6


def summarize(samples):
    """Medians per kind, plus the AWS call breakdown of the scale runs."""
    out = {}
    for kind, runs in samples.items():
        s = {
            "runs": len(runs),
            "init_ms": median([r["init_ms"] for r in runs]),
            "init_ms_all": sorted(round(r["init_ms"], 2) for r in runs),
            "init_cpu_ms": median([r["init_cpu_ms"] for r in runs]),
            "vm_hwm_mib": median([r["vm_hwm_kib"] / 1024 for r in runs]),
        }
        n_inv = len(runs[0]["invocations"]) if runs else 0
        for i in range(n_inv):
            inv = [r["invocations"][i] for r in runs]
            calls = [c for r in inv for c in r["calls"]]
            per_run_put = [sum(1 for c in r["calls"] if c["op"] == "PutMetricData") for r in inv]
            per_run_datums = [
                sum(c["datums"] or 0 for c in r["calls"] if c["op"] == "PutMetricData") for r in inv
            ]
            ops = {}
            for r in inv[:1]:
                for c in r["calls"]:
                    key = f"{c['op']} {c['status'] or 'unanswered'}"
                    ops[key] = ops.get(key, 0) + 1
            s[f"inv{i + 1}"] = {
                "wall_ms": median([r["wall_ms"] for r in inv]),
                "wall_ms_all": sorted(round(r["wall_ms"], 1) for r in inv),
                "cpu_tick_ms": median([r["cpu_tick_ms"] for r in inv]),
                "cpu_sched_ms": median([r["cpu_sched_ms"] for r in inv]),
                "outcomes": sorted({r["outcome"] for r in inv}),
                "put_metric_data_calls": median(per_run_put),
                "datums": median(per_run_datums),
                "max_put_raw_bytes": max(
                    (c["raw_bytes"] for c in calls if c["op"] == "PutMetricData" and c["raw_bytes"]), default=None
                ),
                "max_put_wire_bytes": max(
                    (c["wire_bytes"] for c in calls if c["op"] == "PutMetricData" and c["raw_bytes"]), default=None
                ),
                "aws_ms": median(
                    [
                        (max(c["end_ns"] or r["done_ns"] for c in r["calls"]) - min(c["start_ns"] for c in r["calls"]))
                        / 1e6
                        if r["calls"]
                        else None
                        for r in inv
                    ]
                ),
                "outside_aws_ms": median([outside_aws_ms(r) for r in inv]),
                "until_first_aws_call_ms": median(
                    [
                        (min(c["start_ns"] for c in r["calls"]) - r["delivered_ns"]) / 1e6
                        if r["calls"]
                        else None
                        for r in inv
                    ]
                ),
                "ops_first_run": ops,
                "aws_call_ms": {
                    op: median(
                        [(c["end_ns"] - c["start_ns"]) / 1e6 for c in calls if c["op"] == op and c["end_ns"]]
                    )
                    for op in sorted({c["op"] for c in calls})
                },
                "server_cpu_ms": median([(r.get("server") or {}).get("cpu_ms") for r in inv]),
                "server_served": median([(r.get("server") or {}).get("served") for r in inv]),
                "server_connections": median([(r.get("server") or {}).get("connections") for r in inv]),
                "aws_new_connections": median([r["aws_new_connections"] for r in inv]),
                "body_first_run": inv[0]["body"][:1000] if inv else None,
            }
        out[kind] = s
    return out


def measure_rng(jitter, nojitter, runs):
    """Interleaved fresh processes of bench/rng-init built with and without CPU jitter entropy:
    medians of the first and second random draw, in microseconds."""
    out = {"jitter": {"first": [], "second": []}, "nojitter": {"first": [], "second": []}}
    for _ in range(runs):
        for label, binary in (("jitter", jitter), ("nojitter", nojitter)):
            first, second = subprocess.run([binary], capture_output=True, text=True, check=True).stdout.split()
            out[label]["first"].append(int(first) / 1000)
            out[label]["second"].append(int(second) / 1000)
    return {
        label: {k: median(v) for k, v in d.items()} | {"runs": runs} for label, d in out.items()
    }


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hello", required=True, help="the bare lambda_runtime bootstrap")
    p.add_argument(
        "--hello-fixed",
        help="the same bootstrap linked position-dependent (-no-pie), like health-canary-lambda",
    )
    p.add_argument("--canary", required=True, help="the health-canary-lambda binary")
    p.add_argument("--server", required=True, help="the sample-service binary")
    p.add_argument("--localstack", required=True, help="LocalStack endpoint URL")
    p.add_argument("--dynamodb", required=True, help="moto endpoint URL (the alert state table)")
    p.add_argument("--runs", type=int, default=7, help="runs per kind (medians; ≥ 5)")
    p.add_argument("--scale", default="1,100,1000", help="target counts for the scale runs")
    p.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="rounds run first and not counted (LocalStack, moto and the page cache settle)",
    )
    p.add_argument("--out", default="bench-results", help="directory for logs and results.json")
    p.add_argument(
        "--config-env",
        default="CANARY_CONFIG_FILE",
        help="how the canary gets its config: CANARY_CONFIG_FILE (a path) or CANARY_CONFIG (inline)",
    )
    p.add_argument("--extra-env", action="append", default=[], help="KEY=VALUE for the canary")
    p.add_argument("--rng-jitter", help="bench/rng-init built as aws-lc-sys defaults (jitter on)")
    p.add_argument("--rng-nojitter", help="bench/rng-init built with AWS_LC_SYS_NO_JITTER_ENTROPY=1")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        help="LABEL:KEY=VALUE adds a kind scale-1+LABEL: scale-1 with that extra variable",
    )
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        help="LABEL=PATH: another build of health-canary-lambda, run as alert-1@LABEL and scale-1@LABEL",
    )
    p.add_argument("--strace", help="strace binary: one more init per kind, counting file opens")
    p.add_argument(
        "--scale-to-localstack",
        action="store_true",
        help="send the scale runs' PutMetricData to LocalStack too (default: the proxy answers them)",
    )
    return p.parse_args()


class Bench:
    """The shared parts of every run: proxy, topic, sample service, namespace, and how each kind
    is started (binary and environment)."""

    def __init__(self, args):
        self.args = args
        self.stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        self.proxy = CountingProxy(args.localstack)
        self.topic = create_topic(args.localstack, f"bench-{self.stamp}-{os.getpid()}")
        self.table = create_state_table(args.dynamodb, f"bench-{self.stamp}-{os.getpid()}")
        warm_up_cloudwatch(args.localstack)
        self.server, self.base = start_server(args.server)
        self.namespace = f"HealthCanaryBench{self.stamp}"
        self.extra = dict(kv.split("=", 1) for kv in args.extra_env)
        # The floors: the hello-world as built, and linked -no-pie like the canary when given.
        self.floors = {"hello": args.hello}
        if args.hello_fixed:
            self.floors["hello-fixed"] = args.hello_fixed
        self.builds = {"": args.canary}
        for spec in args.compare:
            label, path = spec.split("=", 1)
            self.builds[label] = path
        self.variants = {}
        for spec in args.variant:
            label, kv = spec.split(":", 1)
            self.variants[f"scale-1+{label}"] = dict([kv.split("=", 1)])

    def kinds(self):
        """hello, hello-fixed: the floors (see __init__). alert-1: one failing target, metrics,
        the alert state table (moto) and SNS (the warm path). scale-N: N passing targets, metrics
        only (alerts off: no table, no SNS).
        scale-1+LABEL: scale-1 with extra environment. alert-1@LABEL, scale-1@LABEL: another build."""
        scales = [int(x) for x in self.args.scale.split(",") if x.strip()]
        kinds = list(self.floors) + ["alert-1"] + [f"scale-{n}" for n in scales] + list(self.variants)
        for label in self.builds:
            if label:
                kinds += [f"alert-1@{label}", f"scale-1@{label}"]
        return kinds

    def start(self, kind, r):
        """(binary, environment, alerting) for one run of `kind` in round `r`."""
        if kind in self.floors:
            return self.floors[kind], {}, False
        name, _, label = kind.partition("@")
        n = int(name.split("-")[1].split("+")[0])
        alerting = name.startswith("alert-")
        tag = kind.replace("@", "-at-").replace("+", "-plus-")
        cfg = canary_config(f"bench-{self.stamp}-{tag}-{r}", self.base, n, alerting,
                            self.topic if alerting else None, self.namespace, self.table)
        path = os.path.abspath(os.path.join(self.args.out, f"{tag}-{r}.json"))
        with open(path, "w") as f:
            json.dump(cfg, f)
        env = dict(self.extra)
        env.update(self.variants.get(kind, {}))
        env["AWS_ENDPOINT_URL"] = self.proxy.url
        env["AWS_ENDPOINT_URL_DYNAMODB"] = self.args.dynamodb
        env[self.args.config_env] = path if self.args.config_env.endswith("_FILE") else json.dumps(cfg)
        return self.builds[label], env, alerting

    def run(self, kind, r):
        binary, env, alerting = self.start(kind, r)
        log = os.path.join(self.args.out, f"{kind}-{r}.log")
        if kind in self.floors:
            return run_lambda(binary, env, 2, log)
        self.proxy.ack_put_metric_data = not alerting and not self.args.scale_to_localstack
        res = run_lambda(binary, env, 2, log, proxy=self.proxy,
                         server=lambda: server_stats(self.base, self.server.pid))
        self.proxy.drain()
        return res

    def opens(self, kind):
        """File opens during one more init of `kind`, under strace (nothing is invoked)."""
        binary, env, _ = self.start(kind, "strace")
        return strace_init(self.args.strace, binary, env, os.path.join(self.args.out, f"{kind}-strace.log"))

    def close(self):
        self.server.kill()
        self.server.wait()


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    bench = Bench(args)
    kinds = bench.kinds()
    samples = {k: [] for k in kinds}
    opens = {}
    try:
        # The first rounds after the builds ran several times slower for every kind, hello-world
        # included (LocalStack and moto still loading their services, cold page cache): measured
        # but not counted.
        for w in range(args.warmup):
            for kind in kinds:
                res = bench.run(kind, f"warmup{w}")
                print(f"warm-up {w + 1}/{args.warmup} {kind:16s} init {res['init_ms']:8.2f} ms (not counted)",
                      file=sys.stderr, flush=True)
        for r in range(args.runs):
            # Rotate the order each round so no kind always runs first (caches, CPU frequency).
            order = kinds[r % len(kinds):] + kinds[: r % len(kinds)]
            for kind in order:
                res = bench.run(kind, r)
                samples[kind].append(res)
                inv = res["invocations"]
                print(
                    f"round {r + 1}/{args.runs} {kind:16s} init {res['init_ms']:8.2f} ms "
                    f"cpu {res['init_cpu_ms']:6.2f} ms  "
                    + "  ".join(f"inv{i + 1} {v['wall_ms']:8.1f} ms {v['outcome']}" for i, v in enumerate(inv))
                    + f"  hwm {res['vm_hwm_kib'] / 1024:6.1f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
        if args.strace:
            for kind in kinds:
                try:
                    opens[kind] = bench.opens(kind)
                except (RunError, OSError, subprocess.SubprocessError) as e:
                    # The timed rounds are kept even when strace cannot run.
                    print(f"strace {kind}: {e}", file=sys.stderr, flush=True)
                    continue
                print(f"strace {kind:16s} {opens[kind]}", file=sys.stderr, flush=True)
    finally:
        bench.close()
    summary = summarize(samples)
    for kind, o in opens.items():
        summary[kind]["opens"] = o
    if args.rng_jitter and args.rng_nojitter and all(
        os.path.exists(b) for b in (args.rng_jitter, args.rng_nojitter)
    ):
        summary["rng"] = measure_rng(args.rng_jitter, args.rng_nojitter, max(args.runs * 3, 15))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"summary": summary, "samples": samples}, f, indent=1)
    json.dump(summary, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
