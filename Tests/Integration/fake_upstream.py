"""A local fake of OpenAI's and Anthropic's APIs for the interop suite.

It answers chat completions, Responses and messages, streamed or not, with a tool call when the
request offers tools, and counts every call it receives (GET /_calls), so the suite can
tell a cache hit (no new call) from a miss. Each answer names its call number, so a
second upstream call could never pass for a replay.

With --billing, /v1/messages bills as Anthropic's prompt cache does
(prompt_cache_billing.py): usage reports what was read and written, a request Anthropic
would refuse is a 400, and GET /_billing sums it per credential and x-bench-group.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prompt_cache_billing import Billing, Refused

lock = threading.Lock()
calls = {}
last = {}
responses = {}  # id -> the stored response, for GET /v1/responses/{id}
billing = Billing() if "--billing" in sys.argv else None


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
        elif self.path == "/_billing":
            self.send_json(200, billing.snapshot() if billing else {})
        elif self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "fake"}]})
        elif self.path.startswith("/v1/responses/"):
            with lock:
                calls[self.path] = calls.get(self.path, 0) + 1
                stored = responses.get(self.path.split("/")[3])
            if stored:
                self.send_json(200, stored)
            else:
                self.send_json(404, {"error": {"message": "No response found", "type": "invalid_request_error", "code": None}})
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
        elif self.path == "/v1/responses":
            self.answer_response(request, number)
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

    # OpenAI Responses

    def answer_response(self, request, number):
        if "include_usage" in (request.get("stream_options") or {}):
            # As OpenAI does: the option belongs to chat completions.
            self.send_json(400, {"error": {"message": "Unknown parameter: 'stream_options.include_usage'.",
                                           "type": "invalid_request_error", "param": "stream_options.include_usage",
                                           "code": "unknown_parameter"}})
            return
        model = request.get("model", "")
        items = request.get("input") if isinstance(request.get("input"), list) else []
        results = [item for item in items if item.get("type") == "function_call_output"]
        if request.get("previous_response_id") and request["previous_response_id"] not in responses:
            self.send_json(400, {"error": {"message": f"Previous response with id '{request['previous_response_id']}' not found.",
                                           "type": "invalid_request_error", "param": "previous_response_id", "code": None}})
            return
        output = []
        if request.get("reasoning"):
            output.append({"id": f"rs_{number}", "type": "reasoning",
                           "summary": [{"type": "summary_text", "text": f"Thinking about answer {number}."}]})
        if request.get("tools") and not results:
            output.append({"id": f"fc_{number}", "type": "function_call", "status": "completed", "call_id": f"call_{number}",
                           "name": "get_weather", "arguments": json.dumps({"city": "Paris", "call": number})})
        else:
            said = f" about {results[0]['output']}" if results else ""
            text = f"Fake response number {number} from {model}{said}."
            output.append({"id": f"msg_{number}", "type": "message", "status": "completed", "role": "assistant",
                           "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
        response = {"id": f"resp_{number}", "object": "response", "created_at": 1700000000 + number, "status": "completed",
                    "background": False, "error": None, "incomplete_details": None,
                    "instructions": request.get("instructions"), "model": model, "output": output,
                    "parallel_tool_calls": True, "previous_response_id": request.get("previous_response_id"),
                    "store": request.get("store", True), "temperature": 1.0, "text": {"format": {"type": "text"}},
                    "tool_choice": "auto", "tools": request.get("tools") or [], "top_p": 1.0, "truncation": "disabled",
                    "usage": {"input_tokens": 32, "input_tokens_details": {"cached_tokens": 16}, "output_tokens": 12,
                              "output_tokens_details": {"reasoning_tokens": 4 if request.get("reasoning") else 0},
                              "total_tokens": 44},
                    "metadata": request.get("metadata") or {}}
        if response["store"]:
            with lock:
                responses[response["id"]] = response
        if not request.get("stream"):
            self.send_json(200, response)
            return
        self.start_stream()
        sequence = iter(range(1 << 30))

        def send(kind, **fields):
            self.event(dict(type=kind, sequence_number=next(sequence), **fields), kind)
        opening = dict(response, status="in_progress", output=[], usage=None)
        send("response.created", response=opening)
        send("response.in_progress", response=opening)
        for index, item in enumerate(output):
            ident = item["id"]
            if item["type"] == "reasoning":
                send("response.output_item.added", output_index=index, item=dict(item, summary=[]))
                text = item["summary"][0]["text"]
                send("response.reasoning_summary_part.added", item_id=ident, output_index=index, summary_index=0,
                     part={"type": "summary_text", "text": ""})
                for part in pieces(text):
                    send("response.reasoning_summary_text.delta", item_id=ident, output_index=index, summary_index=0,
                         delta=part, obfuscation="xyz")
                send("response.reasoning_summary_text.done", item_id=ident, output_index=index, summary_index=0, text=text)
                send("response.reasoning_summary_part.done", item_id=ident, output_index=index, summary_index=0,
                     part=item["summary"][0])
            elif item["type"] == "function_call":
                send("response.output_item.added", output_index=index, item=dict(item, status="in_progress", arguments=""))
                for part in pieces(item["arguments"]):
                    send("response.function_call_arguments.delta", item_id=ident, output_index=index, delta=part, obfuscation="q")
                send("response.function_call_arguments.done", item_id=ident, output_index=index, arguments=item["arguments"])
            else:
                send("response.output_item.added", output_index=index, item=dict(item, status="in_progress", content=[]))
                text = item["content"][0]["text"]
                send("response.content_part.added", item_id=ident, output_index=index, content_index=0,
                     part={"type": "output_text", "text": "", "annotations": [], "logprobs": []})
                for part in pieces(text):
                    send("response.output_text.delta", item_id=ident, output_index=index, content_index=0, delta=part,
                         logprobs=[], obfuscation="abc")
                send("response.output_text.done", item_id=ident, output_index=index, content_index=0, text=text, logprobs=[])
                send("response.content_part.done", item_id=ident, output_index=index, content_index=0, part=item["content"][0])
            send("response.output_item.done", output_index=index, item=item)
        send("response.completed", response=response)

    # Anthropic

    def messages(self, request, number):
        model = request.get("model", "")
        text = f"Fake Anthropic answer number {number} from {model}."
        tool = bool(request.get("tools"))
        tool_input = {"city": "Paris", "call": number}
        usage = {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5, "output_tokens": 11}
        if billing:
            credential = self.headers.get("x-api-key") or self.headers.get("authorization") or ""
            try:
                usage = dict(billing.bill(request, credential, self.headers.get("x-bench-group") or ""), output_tokens=11)
            except Refused as refused:
                self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": str(refused)}})
                return
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
    ports = [a for a in sys.argv[1:] if not a.startswith("--")]
    server = ThreadingHTTPServer(("127.0.0.1", int(ports[0]) if ports else 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
