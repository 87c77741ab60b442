"""OpenTelemetry traces: the sidecar exports its spans over OTLP/HTTP to a real receiver
(a small server decoding the protobuf with the opentelemetry-proto package). Run by
`make integration`.

Checked, for a miss, a hit, a stream and a translated request:
- one server span per request with the GenAI attributes (`gen_ai.*`) and Cachette's
  (`cachette.cache.outcome`, `.tier`, `cachette.compression.saved_tokens`,
  `cachette.cost.saved_usd`);
- a client span for each upstream call, the server span's child;
- the client's `traceparent` is the server span's parent, and the upstream receives a
  `traceparent` naming the upstream span, in the client's trace;
- no attribute holds the prompt, the answer or the API key.
"""

import http.server
import json
import os
import threading
import time
import urllib.request

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from common import check, free_port, get_json, run_suite, start_fake, start_sidecar

SECRET = "sk-int-otel-" + os.urandom(6).hex()
PROMPT = "What is the weather in Paris? (otel " + os.urandom(4).hex() + ")"
CLIENT_TRACE = os.urandom(16).hex()
CLIENT_PARENT = os.urandom(8).hex()
spans = []
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        with lock:
            for resource in request.resource_spans:
                service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        spans.append({
                            "name": span.name, "kind": span.kind, "service": service,
                            "trace": span.trace_id.hex(), "id": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                            "status": span.status.code,
                            "attributes": {a.key: attribute(a.value) for a in span.attributes},
                        })
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def attribute(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def post(sidecar, path, body, headers=None):
    request = urllib.request.Request(f"{sidecar}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers.get("x-cache"), response.read()


def server_spans(count):
    deadline = time.time() + 15
    while time.time() < deadline:
        with lock:
            found = [s for s in spans if s["kind"] == 2]  # SPAN_KIND_SERVER
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return found


def children(span):
    with lock:
        return [s for s in spans if s["parent"] == span["id"] and s["trace"] == span["trace"]]


def main(work):
    port = free_port()
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    fake = start_fake(work)
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}", OTEL_SERVICE_NAME="cachette-int",
               OTEL_BSP_SCHEDULE_DELAY="100")
    sidecar = start_sidecar(work, fake, env)
    flows(sidecar, fake)

def flows(sidecar, fake):
    print("OTLP/HTTP: a miss joining the client's trace, a hit, a stream, a translated request")
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}
    traceparent = f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"
    first, answer = post(sidecar, "/v1/chat/completions", chat, {"traceparent": traceparent, "tracestate": "vendor=1"})
    second, _ = post(sidecar, "/v1/chat/completions", chat)
    check((first, second) == ("MISS", "HIT"), f"MISS then HIT ({first}, {second})")
    sent = get_json(f"{fake}/_calls")["last"]["/v1/chat/completions"]["headers"]
    upstream_parent = sent.get("traceparent", "").split("-")
    check(len(upstream_parent) == 4 and upstream_parent[1] == CLIENT_TRACE and upstream_parent[2] != CLIENT_PARENT,
          f"the upstream got a traceparent in the client's trace, naming Cachette's upstream span: {sent.get('traceparent')}")
    check(sent.get("tracestate") == "vendor=1", f"the client's tracestate went along: {sent.get('tracestate')}")
    streamed = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT + " (stream)"}], "stream": True,
                "stream_options": {"include_usage": True}}
    post(sidecar, "/v1/chat/completions", streamed)
    post(sidecar, "/v1/chat/completions", {"model": "claude-sonnet-4-6", "max_tokens": 64,
                                           "messages": [{"role": "user", "content": PROMPT + " (translated)"}]})

    found = server_spans(4)
    check(len(found) == 4, f"four server spans exported: {[s['name'] for s in found]}")
    by_outcome = {}
    for span in found:
        by_outcome.setdefault((span["attributes"].get("cachette.cache.outcome"), span["attributes"].get("gen_ai.provider.name"),
                               span["attributes"].get("cachette.stream", False)), span)
    miss = by_outcome.get(("miss", "openai", False))
    hit = by_outcome.get(("hit", "openai", False))
    stream = by_outcome.get(("miss", "openai", True))
    translated = by_outcome.get(("miss", "anthropic", False))
    check(all([miss, hit, stream, translated]), f"a miss, a hit, a stream and a translated miss: {list(by_outcome)}")
    if not all([miss, hit, stream, translated]):
        return
    answer_json = json.loads(answer)
    a = miss["attributes"]
    check(miss["name"] == "chat gpt-4o" and miss["service"] == "cachette-int", f"span name and service: {miss['name']}, {miss['service']}")
    check(a.get("gen_ai.operation.name") == "chat" and a.get("gen_ai.request.model") == "gpt-4o"
          and a.get("gen_ai.response.model") == answer_json["model"] and a.get("gen_ai.response.id") == answer_json["id"],
          f"miss: operation, models and response id: {a}")
    usage = answer_json["usage"]
    check(a.get("gen_ai.usage.input_tokens") == usage["prompt_tokens"] and a.get("gen_ai.usage.output_tokens") == usage["completion_tokens"]
          and "gen_ai.usage.cache_read.input_tokens" in a and "gen_ai.usage.cache_creation.input_tokens" in a,
          "miss: usage as the upstream reported it")
    check("cachette.compression.saved_tokens" in a and "cachette.cost.saved_usd" in a and "cachette.cache.tier" not in a,
          "miss: compression and dollars, no tier")
    check(miss["trace"] == CLIENT_TRACE and miss["parent"] == CLIENT_PARENT, "miss: the client's traceparent is its parent")
    upstream = children(miss)
    check(len(upstream) == 1 and upstream[0]["kind"] == 3 and upstream[0]["id"] == upstream_parent[2]
          and upstream[0]["attributes"].get("http.response.status_code") == 200,
          f"miss: one client span, the upstream call, whose context the upstream received: {upstream}")

    h = hit["attributes"]
    check(h.get("cachette.cache.tier") == "memory" and h.get("gen_ai.response.id") == answer_json["id"]
          and h.get("cachette.cost.saved_usd", 0) > 0 and not children(hit) and hit["trace"] != CLIENT_TRACE,
          f"hit: tier memory, the stored answer's id, dollars saved, no upstream span, a trace of its own: {h}")
    s = stream["attributes"]
    check(s.get("gen_ai.response.id", "").startswith("chatcmpl") and s.get("gen_ai.usage.output_tokens", 0) > 0
          and len(children(stream)) == 1, f"stream: response id, usage and an upstream span: {s}")
    t = translated["attributes"]
    check(t.get("gen_ai.request.model") == "claude-sonnet-4-6" and t.get("gen_ai.usage.cache_read.input_tokens", 0) > 0
          and t.get("gen_ai.usage.input_tokens", 0) > t.get("gen_ai.usage.cache_read.input_tokens", 0)
          and children(translated) and children(translated)[0]["attributes"].get("gen_ai.provider.name") == "anthropic",
          f"translated: provider anthropic, input tokens counting cache reads, an upstream span: {t}")

    with lock:
        values = json.dumps([s["attributes"] for s in spans] + [s["name"] for s in spans])
    check(SECRET not in values and "Paris" not in values and "Fake answer" not in values,
          "no span holds the API key, the prompt or the answer")


if __name__ == "__main__":
    run_suite("cachette-otel-", ["cachette.log", "fake.log"], main)
