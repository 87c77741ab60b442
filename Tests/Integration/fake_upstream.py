"""A local fake of OpenAI's and Anthropic's APIs for the interop suite.

It answers chat completions and messages, streamed or not, with a tool call when the
request offers tools, and counts every call it receives (GET /_calls), so the suite can
tell a cache hit (no new call) from a miss. Each answer names its call number, so a
second upstream call could never pass for a replay.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
calls = {}
last = {}


def pieces(text, size=5):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True

    def event(self, data, name=None):
        text = (f"event: {name}\n" if name else "") + f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
        self.wfile.write(text.encode())
        self.wfile.flush()

    def do_GET(self):
        if self.path == "/_calls":
            with lock:
                self.send_json(200, {"calls": dict(calls), "last": dict(last)})
        elif self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "fake"}]})
        else:
            self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error", "code": "not_found"}})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            calls[self.path] = calls.get(self.path, 0) + 1
            number = sum(calls.values())
            last[self.path] = {"body": request, "headers": {k.lower(): v for k, v in self.headers.items()}}
        if self.path == "/v1/chat/completions":
            self.chat(request, number)
        elif self.path == "/v1/messages":
            self.messages(request, number)
        else:
            self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error", "code": "not_found"}})

    # OpenAI

    def chat(self, request, number):
        if "(golden," in json.dumps(request.get("messages")):
            return self.golden(request, number)
        model = request.get("model", "")
        if model == "fake-failing-model":  # an upstream error, for the dashboard's figures
            self.send_json(500, {"error": {"message": "the fake upstream failed on purpose", "type": "server_error", "code": None}})
            return
        text = f"Fake answer number {number} from {model}."
        tool = bool(request.get("tools"))
        arguments = json.dumps({"city": "Paris", "call": number})
        usage = {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
        base = {"id": f"chatcmpl-{number}", "created": 1700000000 + number, "model": model, "system_fingerprint": "fp_fake"}
        if not request.get("stream"):
            message = {"role": "assistant", "content": None if tool else text, "refusal": None}
            if tool:
                message["tool_calls"] = [{"id": f"call_{number}", "type": "function",
                                          "function": {"name": "get_weather", "arguments": arguments}}]
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if tool else "stop"}
            self.send_json(200, dict(base, object="chat.completion", choices=[choice], usage=usage))
            return

        def chunk(delta, finish=None):
            return dict(base, object="chat.completion.chunk",
                        choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

        self.start_stream()
        self.event(chunk({"role": "assistant", "content": "" if not tool else None, "refusal": None}))
        if tool:
            self.event(chunk({"tool_calls": [{"index": 0, "id": f"call_{number}", "type": "function",
                                              "function": {"name": "get_weather", "arguments": ""}}]}))
            for part in pieces(arguments):
                self.event(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
        else:
            for part in pieces(text):
                self.event(chunk({"content": part}))
        self.event(chunk({}, "tool_calls" if tool else "stop"))
        if (request.get("stream_options") or {}).get("include_usage"):
            self.event(dict(base, object="chat.completion.chunk", choices=[], usage=usage))
        self.event("[DONE]")

    def golden(self, request, number):
        """An answer with reasoning and, when asked, per-token logprobs, streamed or not."""
        model = request.get("model", "")
        reasoning = f"The user wants a greeting; answer {number} says hello."
        tokens = ["Hello", ",", " world", "!", f" #{number}"]
        usage = {"prompt_tokens": 14, "completion_tokens": len(tokens), "total_tokens": 14 + len(tokens),
                 "completion_tokens_details": {"reasoning_tokens": 12}}
        base = {"id": f"chatcmpl-g{number}", "created": 1700000000 + number, "model": model, "system_fingerprint": "fp_fake"}

        def logprob(token, i):
            return {"token": token, "logprob": -0.01 * (i + 1), "bytes": list(token.encode()),
                    "top_logprobs": [{"token": token, "logprob": -0.01 * (i + 1), "bytes": list(token.encode())}]}
        want = bool(request.get("logprobs"))
        if not request.get("stream"):
            message = {"role": "assistant", "content": "".join(tokens), "refusal": None, "reasoning_content": reasoning}
            logprobs = {"content": [logprob(t, i) for i, t in enumerate(tokens)], "refusal": None} if want else None
            choice = {"index": 0, "message": message, "logprobs": logprobs, "finish_reason": "stop"}
            self.send_json(200, dict(base, object="chat.completion", choices=[choice], usage=usage))
            return

        def chunk(delta, finish=None, logprobs=None):
            return dict(base, object="chat.completion.chunk",
                        choices=[{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}])
        self.start_stream()
        self.event(chunk({"role": "assistant", "content": "", "refusal": None}))
        for part in pieces(reasoning, 9):
            self.event(chunk({"reasoning_content": part}))
        for i, token in enumerate(tokens):
            self.event(chunk({"content": token}, logprobs={"content": [logprob(token, i)], "refusal": None} if want else None))
        self.event(chunk({}, "stop"))
        if (request.get("stream_options") or {}).get("include_usage"):
            self.event(dict(base, object="chat.completion.chunk", choices=[], usage=usage))
        self.event("[DONE]")

    # Anthropic

    def messages(self, request, number):
        model = request.get("model", "")
        text = f"Fake Anthropic answer number {number} from {model}."
        tool = bool(request.get("tools"))
        tool_input = {"city": "Paris", "call": number}
        usage = {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5, "output_tokens": 11}
        content = [{"type": "text", "text": text}]
        if tool:
            content.append({"type": "tool_use", "id": f"toolu_{number}", "name": "get_weather", "input": tool_input})
        stop = "tool_use" if tool else "end_turn"
        message = {"id": f"msg_{number}", "type": "message", "role": "assistant", "model": model, "content": content,
                   "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not request.get("stream"):
            self.send_json(200, message)
            return
        self.start_stream()
        start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
        self.event({"type": "message_start", "message": start}, "message_start")
        self.event({"type": "ping"}, "ping")
        self.event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start")
        for part in pieces(text):
            self.event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}}, "content_block_delta")
        self.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        if tool:
            block = {"type": "tool_use", "id": f"toolu_{number}", "name": "get_weather", "input": {}}
            self.event({"type": "content_block_start", "index": 1, "content_block": block}, "content_block_start")
            for part in pieces(json.dumps(tool_input)):
                delta = {"type": "input_json_delta", "partial_json": part}
                self.event({"type": "content_block_delta", "index": 1, "delta": delta}, "content_block_delta")
            self.event({"type": "content_block_stop", "index": 1}, "content_block_stop")
        self.event({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta")
        self.event({"type": "message_stop"}, "message_stop")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
