#!/usr/bin/env python3
# A tiny real service for the end-to-end tests of tracing through a service tracerig does not run:
# it serves POST/GET on any path, forwards each request to the downstream URL given on its command
# line, and exports its own SERVER and CLIENT spans as OTLP/JSON, as an instrumented service would.
# --mode propagate passes the trace on (its CLIENT span as the parent, tracestate and baggage as
# received); --mode traceparent passes traceparent alone (no tracestate, no baggage); --mode drop
# sends the downstream request without any trace context (a broken propagator). --delay-ms holds
# each request that long before calling downstream, so requests overlap. Binds port 0 and prints
# "port N" on its first line.
import argparse
import json
import os
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def new_id(n_bytes):
    while True:
        value = os.urandom(n_bytes).hex()
        if value.strip("0"):
            return value


def span(trace_id, span_id, parent_id, name, kind, start, end):
    s = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": kind,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(end)}
    if parent_id:
        s["parentSpanId"] = parent_id
    return s


def make_handler(args):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # keep the test's output clean
            pass

        def handle_one(self):
            start = time.time_ns()
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            traceparent = self.headers.get("traceparent", "")
            parts = traceparent.split("-")
            if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
                trace_id, parent_id, flags = parts[1], parts[2], parts[3]
            else:
                trace_id, parent_id, flags = new_id(16), "", "01"
            server_id, client_id = new_id(8), new_id(8)
            headers = {}
            if args.delay_ms > 0:
                time.sleep(args.delay_ms / 1000.0)
            if args.mode in ("propagate", "traceparent"):
                headers["traceparent"] = "00-%s-%s-%s" % (trace_id, client_id, flags)
            if args.mode == "propagate":
                for name in ("tracestate", "baggage"):
                    if self.headers.get(name):
                        headers[name] = self.headers.get(name)
            client_start = time.time_ns()
            status = 502
            try:
                request = urllib.request.Request(args.downstream, data=b"", headers=headers,
                                                 method="POST")
                with urllib.request.urlopen(request, timeout=10) as answer:
                    answer.read()
                    status = 200 if answer.status < 400 else 502
            except Exception:  # a failed downstream call is this service's 502
                status = 502
            client_end = time.time_ns()
            end = time.time_ns()
            if flags.endswith("1"):
                spans = [span(trace_id, server_id, parent_id, self.command + " " + self.path, 2,
                              start, end),
                         span(trace_id, client_id, server_id, "POST", 3, client_start,
                              client_end)]
                body = json.dumps({"resourceSpans": [{
                    "resource": {"attributes": [{"key": "service.name",
                                                 "value": {"stringValue": args.service}}]},
                    "scopeSpans": [{"scope": {"name": "forwarding_service"}, "spans": spans}]}]})
                export = urllib.request.Request(args.otlp, data=body.encode(), method="POST",
                                                headers={"content-type": "application/json"})
                with urllib.request.urlopen(export, timeout=10) as answer:
                    answer.read()
            payload = b"ok\n" if status == 200 else b"error\n"
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = handle_one
        do_POST = handle_one

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["propagate", "traceparent", "drop"], required=True)
    parser.add_argument("--delay-ms", type=int, default=0, help="hold each request this long")
    parser.add_argument("--downstream", required=True, help="URL each request is forwarded to")
    parser.add_argument("--otlp", required=True, help="OTLP/HTTP JSON endpoint (.../v1/traces)")
    parser.add_argument("--service", default="fraud-check", help="service.name of its spans")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args))
    print("port %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
