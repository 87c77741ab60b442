"""Interop suite: the real openai and litellm packages against Cachette, which sits in
front of a local fake upstream (fake_upstream.py). Run by `make integration`.

Flows:
1. The openai SDK: a chat with tool calls, not streamed and streamed; each repeat is a
   HIT whose SDK-parsed result equals the first.
2. litellm.completion(model="openai/<m>", api_base=<sidecar>), streamed and not.
3. The LiteLLM proxy in front of Cachette (app -> LiteLLM -> Cachette -> fake); the
   repeat is a HIT and Cachette's /stats counts it.
4. openai/claude-... through translation to the fake Anthropic upstream, streamed and not.
5. The openai SDK's Responses API: create, stream=True, the responses.stream helper, a
   function-calling round over previous_response_id, and both cross-mode directions;
   then /v1/responses through the LiteLLM proxy.

The sidecar runs the shipped config/cachette.yaml and LiteLLM the shipped
config/litellm.yaml, with only their addresses pointed at this run's processes.
"""

import json
import os
import subprocess
import sys
import tempfile

import anthropic
import litellm
import openai
from openai.lib.streaming.chat import ChatCompletionStreamState

from common import ROOT, check, finish, free_port, get_json, print_logs, start, start_fake, start_sidecar, stop_all, wait_for

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

class Run:
    def __init__(self, work):
        proxy_port = free_port()
        self.work = work
        self.fake = start_fake(work)
        self.sidecar = start_sidecar(work, self.fake)
        self.proxy = f"http://127.0.0.1:{proxy_port}"

        with open(os.path.join(ROOT, "config", "litellm.yaml")) as f:
            shipped = f.read()
        with open(f"{work}/litellm.yaml", "w") as f:
            f.write(shipped.replace("http://localhost:8766/v1", f"{self.sidecar}/v1"))
        self.master_key = "sk-int-master-" + os.urandom(8).hex()
        env = dict(os.environ, OPENAI_API_KEY="sk-int-proxy", ANTHROPIC_API_KEY="sk-ant-int-proxy", LITELLM_MASTER_KEY=self.master_key,
                   LITELLM_LOCAL_MODEL_COST_MAP="True")
        litellm_bin = os.path.join(os.path.dirname(sys.executable), "litellm")
        self.proxy_process = start([litellm_bin, "--config", f"{work}/litellm.yaml", "--host", "127.0.0.1", "--port", str(proxy_port)],
                                   open(f"{work}/litellm.log", "w"), env)

    def calls(self, path):
        return get_json(f"{self.fake}/_calls")["calls"].get(path, 0)

    def last(self, path):
        return get_json(f"{self.fake}/_calls")["last"][path]

    def stats(self):
        return get_json(f"{self.sidecar}/stats")


def sdk_flows(run):
    print("openai SDK -> Cachette -> fake OpenAI")
    client = openai.OpenAI(base_url=f"{run.sidecar}/v1", api_key="sk-int-sdk", max_retries=0)
    messages = [{"role": "user", "content": "What is the weather in Paris? (sdk)"}]
    before = run.calls("/v1/chat/completions")
    results = []
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages, tools=TOOLS)
        results.append((raw.headers.get("x-cache"), raw.parse()))
    (first_cache, first), (second_cache, second) = results
    check(first_cache == "MISS" and second_cache == "HIT", f"non-streamed: MISS then HIT (got {first_cache}, {second_cache})")
    call = first.choices[0].message.tool_calls[0]
    check(call.function.name == "get_weather" and json.loads(call.function.arguments)["city"] == "Paris", "non-streamed: the SDK parsed the tool call")
    check(first.model_dump() == second.model_dump(), "non-streamed: the HIT parses equal to the MISS")
    check(run.calls("/v1/chat/completions") == before + 1, "non-streamed: one upstream call for two requests")

    messages = [{"role": "user", "content": "What is the weather in Paris? (sdk stream)"}]
    before = run.calls("/v1/chat/completions")
    finals = []
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=messages, tools=TOOLS, stream=True, stream_options={"include_usage": True})
        state = ChatCompletionStreamState()
        for chunk in raw.parse():
            state.handle_chunk(chunk)
        finals.append((raw.headers.get("x-cache"), state.get_final_completion()))
    (first_cache, first), (second_cache, second) = finals
    check(first_cache == "MISS" and second_cache == "HIT", f"streamed: MISS then HIT (got {first_cache}, {second_cache})")
    call = first.choices[0].message.tool_calls[0]
    check(json.loads(call.function.arguments)["city"] == "Paris" and first.choices[0].finish_reason == "tool_calls",
          "streamed: the SDK assembled the tool call from its argument deltas")
    check(first.usage is not None and first.usage.total_tokens == 29, "streamed: the usage chunk arrived, as asked")
    check(first.model_dump() == second.model_dump(), "streamed: the replayed stream assembles equal to the first")
    check(run.calls("/v1/chat/completions") == before + 1, "streamed: one upstream call for two requests")


def golden_flows(run):
    """Cross-mode answers, field by field against the openai SDK's own stream accumulation."""
    print("openai SDK: a recorded stream served whole, and a stored answer served as a stream")
    client = openai.OpenAI(base_url=f"{run.sidecar}/v1", api_key="sk-int-golden", max_retries=0)

    def streamed(messages):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=messages, logprobs=True, stream=True, stream_options={"include_usage": True})
        state = ChatCompletionStreamState()
        for chunk in raw.parse():
            state.handle_chunk(chunk)
        return raw.headers.get("x-cache"), state.get_final_completion()

    def whole(messages):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages, logprobs=True)
        return raw.headers.get("x-cache"), raw.parse()

    def fields(completion):
        choice = completion.choices[0]
        message = choice.message
        return {
            "id": completion.id, "model": completion.model, "created": completion.created,
            "content": message.content, "reasoning_content": getattr(message, "reasoning_content", None),
            "finish_reason": choice.finish_reason,
            "logprobs": [(t.token, t.logprob, t.bytes, [(x.token, x.logprob) for x in t.top_logprobs]) for t in choice.logprobs.content]
            if choice.logprobs and choice.logprobs.content else None,
            "usage": completion.usage.model_dump() if completion.usage else None,
        }

    messages = [{"role": "user", "content": "Say hello (golden, stream first)"}]
    before = run.calls("/v1/chat/completions")
    (stream_cache, from_stream), (whole_cache, from_store) = streamed(messages), whole(messages)
    check(stream_cache == "MISS" and whole_cache == "HIT", f"stream first: MISS then a whole HIT (got {stream_cache}, {whole_cache})")
    a, b = fields(from_stream), fields(from_store)
    for name in a:
        check(a[name] == b[name], f"stream first: {name} of the whole answer equals the SDK's accumulation")
    check(a["logprobs"] is not None and len(a["logprobs"]) == 5, "stream first: every chunk's logprobs kept (5 of 5)")
    check(a["reasoning_content"], "stream first: reasoning_content kept")

    messages = [{"role": "user", "content": "Say hello (golden, whole first)"}]
    (whole_cache, stored), (stream_cache, replayed) = whole(messages), streamed(messages)
    check(whole_cache == "MISS" and stream_cache == "HIT", f"whole first: MISS then a streamed HIT (got {whole_cache}, {stream_cache})")
    a, b = fields(stored), fields(replayed)
    for name in a:
        check(a[name] == b[name], f"whole first: {name} the SDK accumulates from the synthesized stream equals the stored answer")
    check(run.calls("/v1/chat/completions") == before + 2, "two upstream calls for four requests")


RESPONSE_TOOLS = [{"type": "function", "name": "get_weather", "description": "Current weather for a city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def responses_flows(run):
    print("openai SDK responses -> Cachette -> fake OpenAI")
    client = openai.OpenAI(base_url=f"{run.sidecar}/v1", api_key="sk-int-responses", max_retries=0)

    def create(**kwargs):
        raw = client.responses.with_raw_response.create(model="gpt-4o", **kwargs)
        return raw.headers.get("x-cache"), raw.parse()

    def stream(**kwargs):
        raw = client.responses.with_raw_response.create(model="gpt-4o", stream=True, **kwargs)
        return raw.headers.get("x-cache"), list(raw.parse())

    before = run.calls("/v1/responses")
    (c1, first), (c2, second) = [create(input="Say hello (responses)", instructions="Be brief.") for _ in range(2)]
    check(c1 == "MISS" and c2 == "HIT", f"responses.create: MISS then HIT (got {c1}, {c2})")
    check(first.output_text.startswith("Fake response number") and first.status == "completed", "responses.create: the SDK parsed the answer")
    check(first.model_dump() == second.model_dump(), "responses.create: the HIT parses equal to the MISS")
    check(run.calls("/v1/responses") == before + 1, "responses.create: one upstream call for two requests")
    check("stream_options" not in run.last("/v1/responses")["body"], "no stream_options were added to a Responses request")

    before = run.calls("/v1/responses")
    (c1, events1), (c2, events2) = [stream(input="Say hello (responses stream)") for _ in range(2)]
    texts = ["".join(e.delta for e in events if e.type == "response.output_text.delta") for events in (events1, events2)]
    check(c1 == "MISS" and c2 == "HIT", f"stream=True: MISS then HIT (got {c1}, {c2})")
    check(texts[0].startswith("Fake response number") and texts[0] == texts[1], f"stream=True: the SDK parsed the same text ({texts[0]!r})")
    check([e.sequence_number for e in events2] == list(range(len(events2))), "stream=True: sequence numbers contiguous")
    check(events1[-1].type == "response.completed" and events1[-1].model_dump() == events2[-1].model_dump(),
          "stream=True: the replay's response.completed equals the first")
    check(run.calls("/v1/responses") == before + 1, "stream=True: one upstream call for two requests")

    before = run.calls("/v1/responses")
    finals = []
    for _ in range(2):
        with client.responses.stream(model="gpt-4o", input="Say hello (responses helper)", reasoning={"effort": "low", "summary": "auto"}) as helper:
            for _event in helper:
                pass
            finals.append(helper.get_final_response())
    check(finals[0].output_text.startswith("Fake response number") and finals[0].output_text == finals[1].output_text,
          "responses.stream: get_final_response() gives the same text on the replay")
    check(finals[0].output[0].type == "reasoning" and finals[0].output[0].summary[0].text == finals[1].output[0].summary[0].text,
          "responses.stream: the reasoning summary is kept")
    check(finals[0].usage.input_tokens_details.cached_tokens == 16 and finals[0].usage.output_tokens_details.reasoning_tokens == 4,
          "responses.stream: usage details kept")
    check(run.calls("/v1/responses") == before + 1, "responses.stream: one upstream call for two requests")

    before = run.calls("/v1/responses")
    rounds = []
    for _ in range(2):
        c1, asked = create(input="Weather in Paris? (responses tools)", tools=RESPONSE_TOOLS)
        call = next(item for item in asked.output if item.type == "function_call")
        c2, answered = create(previous_response_id=asked.id, tools=RESPONSE_TOOLS,
                              input=[{"type": "function_call_output", "call_id": call.call_id, "output": json.dumps({"celsius": 21})}])
        rounds.append((c1, c2, call, answered))
    (a1, a2, call, answered), (b1, b2, _, again) = rounds
    check(call.name == "get_weather" and json.loads(call.arguments)["city"] == "Paris", "tools: the SDK parsed the function call")
    check(answered.previous_response_id == call.id.replace("fc_", "resp_") and "celsius" in answered.output_text,
          f"tools: the function output went back over previous_response_id ({answered.output_text!r})")
    check((a1, a2, b1, b2) == ("MISS", "MISS", "HIT", "HIT"), f"tools: the repeated round is two HITs (got {a1}, {a2}, {b1}, {b2})")
    check(answered.model_dump() == again.model_dump(), "tools: the repeated round's answer is equal")
    check(run.calls("/v1/responses") == before + 2, "tools: two upstream calls for four requests")
    with client.responses.stream(model="gpt-4o", input="Weather in Paris? (responses tools)", tools=RESPONSE_TOOLS) as helper:
        kinds = [event.type for event in helper]
        streamed_call = helper.get_final_response().output[0]
    check("response.function_call_arguments.delta" in kinds and streamed_call.arguments == call.arguments
          and streamed_call.call_id == call.call_id, "tools: a stored function call streams as argument deltas the SDK's helper assembles")
    check(run.calls("/v1/responses") == before + 2, "tools: the streamed function call was a HIT")
    retrieved = client.responses.retrieve(answered.previous_response_id)
    check(retrieved.id == answered.previous_response_id, "responses.retrieve(id) passed through to the upstream that made it")

    before = run.calls("/v1/responses")
    c1, events = stream(input="Say hello (responses stream first)")
    c2, whole = create(input="Say hello (responses stream first)")
    check(c1 == "MISS" and c2 == "HIT", f"stream first: MISS then a whole HIT (got {c1}, {c2})")
    check(whole.model_dump() == events[-1].response.model_dump(), "stream first: the whole answer is response.completed's response")
    c1, whole = create(input="Say hello (responses whole first)")
    c2, events = stream(input="Say hello (responses whole first)")
    check(c1 == "MISS" and c2 == "HIT", f"whole first: MISS then a streamed HIT (got {c1}, {c2})")
    with client.responses.stream(model="gpt-4o", input="Say hello (responses whole first)") as helper:
        deltas = "".join(e.delta for e in helper if e.type == "response.output_text.delta")
        final = helper.get_final_response()
    check(deltas == whole.output_text and final.output_text == whole.output_text and final.id == whole.id,
          "whole first: the SDK's helper assembles the synthesized events into the stored answer")
    check([e.sequence_number for e in events] == list(range(len(events))), "whole first: sequence numbers contiguous")
    check(run.calls("/v1/responses") == before + 2, "cross-mode: two upstream calls for five requests")


def litellm_flows(run):
    print("litellm.completion(openai/<m>) -> Cachette -> fake OpenAI")
    kwargs = dict(model="openai/gpt-4o-mini", api_base=f"{run.sidecar}/v1", api_key="sk-int-litellm")
    messages = [{"role": "user", "content": "Say hello (litellm)"}]
    before, hits = run.calls("/v1/chat/completions"), run.stats()["hits"]
    first = litellm.completion(messages=messages, **kwargs)
    second = litellm.completion(messages=messages, **kwargs)
    check("Fake answer number" in first.choices[0].message.content, "non-streamed: the upstream's answer came back")
    check(first.choices[0].message.content == second.choices[0].message.content, "non-streamed: the repeat has the same content")
    check(run.calls("/v1/chat/completions") == before + 1 and run.stats()["hits"] == hits + 1,
          "non-streamed: one upstream call, one HIT counted")

    messages = [{"role": "user", "content": "Say hello (litellm stream)"}]
    before, hits = run.calls("/v1/chat/completions"), run.stats()["hits"]
    texts = []
    for _ in range(2):
        parts = [chunk.choices[0].delta.content or "" for chunk in litellm.completion(messages=messages, stream=True, **kwargs) if chunk.choices]
        texts.append("".join(parts))
    check(texts[0].startswith("Fake answer number") and texts[0] == texts[1], f"streamed: equal text both times ({texts[0]!r})")
    check(run.calls("/v1/chat/completions") == before + 1 and run.stats()["hits"] == hits + 1,
          "streamed: one upstream call, one HIT counted")


def proxy_flows(run):
    print("app -> LiteLLM proxy -> Cachette -> fake OpenAI")
    wait_for(f"{run.proxy}/health/liveliness", 120, run.proxy_process)
    client = openai.OpenAI(base_url=run.proxy, api_key=run.master_key, max_retries=0)
    messages = [{"role": "user", "content": "Say hello (proxy)"}]
    before, hits = run.calls("/v1/chat/completions"), run.stats()["hits"]
    first = client.chat.completions.create(model="gpt-4o", messages=messages)
    second = client.chat.completions.create(model="gpt-4o", messages=messages)
    check(first.choices[0].message.content == second.choices[0].message.content, "non-streamed: the repeat has the same content")
    check(run.calls("/v1/chat/completions") == before + 1, "non-streamed: one upstream call for two requests")
    check(run.stats()["hits"] == hits + 1, "non-streamed: Cachette's /stats counts the HIT")
    check(run.last("/v1/chat/completions")["headers"].get("authorization") == "Bearer sk-int-proxy",
          "LiteLLM's deployment key reached the upstream through Cachette")

    messages = [{"role": "user", "content": "Say hello (proxy stream)"}]
    before, hits = run.calls("/v1/chat/completions"), run.stats()["hits"]
    texts = []
    for _ in range(2):
        texts.append("".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True) if c.choices))
    check(texts[0].startswith("Fake answer number") and texts[0] == texts[1], "streamed: equal text both times")
    check(run.calls("/v1/chat/completions") == before + 1 and run.stats()["hits"] == hits + 1,
          "streamed: one upstream call, one HIT counted")

    messages = [{"role": "user", "content": "Weather in Paris? (proxy claude)"}]
    before = run.calls("/v1/messages")
    answers = [client.chat.completions.create(model="claude-sonnet-4-6", messages=messages, tools=TOOLS) for _ in range(2)]
    check(answers[0].choices[0].message.tool_calls[0].function.name == "get_weather", "claude via the proxy: tool call translated")
    check(answers[0].model_dump()["choices"] == answers[1].model_dump()["choices"], "claude via the proxy: the repeat is equal")
    check(run.calls("/v1/messages") == before + 1, "claude via the proxy: one upstream call")

    before, hits = run.calls("/v1/responses"), run.stats()["hits"]
    answers = [client.responses.create(model="gpt-4o", input="Say hello (proxy responses)") for _ in range(2)]
    check(answers[0].output_text.startswith("Fake response number") and answers[0].output_text == answers[1].output_text,
          "responses via the proxy: the repeat has the same text")
    check(run.calls("/v1/responses") == before + 1 and run.stats()["hits"] == hits + 1,
          "responses via the proxy: one upstream call, one Cachette HIT")


def translation_flows(run):
    print("litellm openai/claude-... -> Cachette (translated) -> fake Anthropic")
    kwargs = dict(model="openai/claude-sonnet-4-6", api_base=f"{run.sidecar}/v1", api_key="sk-ant-int-client")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris? (translated)"}]
    before = run.calls("/v1/messages")
    first = litellm.completion(messages=messages, tools=TOOLS, max_tokens=256, temperature=0.3, **kwargs)
    second = litellm.completion(messages=messages, tools=TOOLS, max_tokens=256, temperature=0.3, **kwargs)
    sent = run.last("/v1/messages")
    check(sent["headers"].get("x-api-key") == "sk-ant-int-client" and "authorization" not in sent["headers"],
          "the bearer key went to Anthropic as x-api-key")
    check(sent["body"].get("system") == [{"type": "text", "text": "Be brief."}] and sent["body"].get("max_tokens") == 256
          and sent["body"]["tools"][0]["input_schema"]["required"] == ["city"], "the request reached Anthropic in its shape")
    message = first.choices[0].message
    check(message.content.startswith("Fake Anthropic answer number") and message.tool_calls[0].function.name == "get_weather"
          and json.loads(message.tool_calls[0].function.arguments)["city"] == "Paris", "non-streamed: text and tool call in OpenAI's shape")
    check(first.choices[0].finish_reason == "tool_calls", "non-streamed: tool_use became finish_reason tool_calls")
    check(first.usage.prompt_tokens == 30 and first.usage.completion_tokens == 11, "non-streamed: usage translated (input + cache reads)")
    check(first.choices[0].message.model_dump() == second.choices[0].message.model_dump(), "non-streamed: the repeat is equal")
    check(run.calls("/v1/messages") == before + 1, "non-streamed: one upstream call for two requests")

    messages = [{"role": "user", "content": "Weather in Paris? (translated stream)"}]
    before = run.calls("/v1/messages")
    results = []
    for _ in range(2):
        chunks = list(litellm.completion(messages=messages, tools=TOOLS, stream=True, **kwargs))
        rebuilt = litellm.stream_chunk_builder(chunks, messages=messages)
        results.append(rebuilt)
    first, second = results
    message = first.choices[0].message
    check(message.content.startswith("Fake Anthropic answer number"), f"streamed: text arrived ({message.content!r})")
    check(message.tool_calls and json.loads(message.tool_calls[0].function.arguments)["city"] == "Paris",
          "streamed: the tool call was assembled from translated argument deltas")
    check(first.choices[0].finish_reason == "tool_calls", "streamed: finish_reason tool_calls")
    check(first.choices[0].message.model_dump() == second.choices[0].message.model_dump(), "streamed: the replay is equal")
    check(run.calls("/v1/messages") == before + 1, "streamed: one upstream call for two requests")


def anthropic_flows(run):
    print("anthropic SDK -> Cachette /v1/messages -> fake Anthropic (the README's base URL)")
    client = anthropic.Anthropic(base_url=run.sidecar, api_key="sk-ant-int-sdk", max_retries=0)
    messages = [{"role": "user", "content": "Hello from the Anthropic SDK"}]
    before = run.calls("/v1/messages")
    first = client.messages.with_raw_response.create(model="claude-sonnet-4-6", max_tokens=64, messages=messages)
    second = client.messages.with_raw_response.create(model="claude-sonnet-4-6", max_tokens=64, messages=messages)
    check(first.headers.get("x-cache") == "MISS" and second.headers.get("x-cache") == "HIT", "the SDK's repeat is a HIT")
    check(first.parse().model_dump() == second.parse().model_dump(), "the HIT parses equal to the first answer")
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Stream, SDK"}]) as s:
        streamed = s.get_final_message()
    check(streamed.content and streamed.content[0].text.startswith("Fake Anthropic answer"), "the SDK's stream assembles")
    check(run.calls("/v1/messages") == before + 2, "two upstream calls for the three requests")
    wrong = anthropic.Anthropic(base_url=f"{run.sidecar}/v1", api_key="sk-ant-int-sdk", max_retries=0)
    try:
        wrong.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=messages)
        check(False, "a base URL ending in /v1 is refused")
    except anthropic.NotFoundError as error:
        code = ((error.body or {}).get("error") or {}).get("code") if isinstance(error.body, dict) else None
        check(code == "doubled_v1_path" and "without it" in str(error), f"a base URL ending in /v1 is told why: {error}")


def prompt_cache_flows(run):
    """The README's recipes in front of a fake that bills as Anthropic's prompt cache does:
    nobody marks anything, and the second turn on reads the prefix back."""
    print("prompt-cache steering: anthropic SDK and litellm openai/claude-... -> Cachette -> billing fake")
    work = f"{run.work}/billing"
    os.makedirs(work)
    fake = start_fake(work, billing=True)
    sidecar = start_sidecar(work, fake)
    system = "You are a careful coding agent. " + " ".join(f"Rule {i}: read src/Module{i}/File{i}.swift before line {i * 7}." for i in range(300))
    tools = [{"name": "get_weather", "description": "Current weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    client = anthropic.Anthropic(base_url=sidecar, api_key="sk-ant-int-billing", max_retries=0)
    messages = [{"role": "user", "content": "Task: what is the weather in Paris? (billed)"}]
    reads = []
    for _ in range(4):
        reply = client.messages.create(model="claude-sonnet-4-6", max_tokens=64, system=system, tools=tools, messages=messages)
        reads.append(reply.usage.cache_read_input_tokens or 0)
        calls = [block for block in reply.content if block.type == "tool_use"]
        messages = messages + [{"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in reply.content]},
                               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": c.id, "content": "18 C"} for c in calls]}]
    sent = get_json(f"{fake}/_calls")["last"]["/v1/messages"]["body"]
    check("cache_control" in json.dumps(sent), "native: the sidecar marked the unmarked session")
    check(reads[0] == 0 and all(r > 1000 for r in reads[1:]), f"native: every turn after the first read its prefix back: {reads}")
    mine = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    client.messages.create(model="claude-sonnet-4-6", max_tokens=64, system=mine, messages=[{"role": "user", "content": "Mine (billed)"}])
    sent = get_json(f"{fake}/_calls")["last"]["/v1/messages"]["body"]
    check(sent["system"] == mine and "cache_control" not in json.dumps(sent["messages"]), "native: a client's own marker is sent as it came")

    kwargs = dict(model="openai/claude-sonnet-4-6", api_base=f"{sidecar}/v1", api_key="sk-ant-int-billing-litellm")
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "Weather in Paris? (billed, translated)"}]
    cached = []
    for _ in range(4):
        reply = litellm.completion(messages=messages, tools=TOOLS, max_tokens=64, **kwargs)
        details = reply.usage.prompt_tokens_details
        cached.append((details.cached_tokens if details else 0) or 0)
        message = reply.choices[0].message
        calls = message.tool_calls or []
        messages = messages + [{"role": "assistant", "content": message.content, "tool_calls": [c.model_dump() for c in calls]}] + [
            {"role": "tool", "tool_call_id": c.id, "content": "18 C"} for c in calls]
    check(cached[0] == 0 and all(c > 1000 for c in cached[1:]), f"translated (LiteLLM): every turn after the first read its prefix: {cached}")
    billed = get_json(f"{fake}/_billing")
    check(all(sums["write_5m"] > 0 and sums["read"] > sums["write_5m"] for sums in billed.values()) and len(billed) == 2,
          f"the billing fake booked writes once and reads after: {billed}")


def transfer_flows(run):
    """Everything the real clients stored, every route and format, streams and translations
    among them, exports and imports back whole: the import's checks (what a live answer
    could be) refuse nothing a live answer was."""
    binary = os.environ.get("CACHETTE_BIN", os.path.join(ROOT, ".build", "debug", "cachette"))
    exported = f"{run.work}/export.jsonl"
    out = subprocess.run([binary, "cache", "export", "--db", f"{run.work}/cache.sqlite", "-o", exported],
                         capture_output=True, text=True, timeout=60)
    count = sum(1 for _ in open(exported)) - 1
    check(out.returncode == 0 and count > 10, f"export wrote {count} entries: {out.stderr.strip()}")
    back = subprocess.run([binary, "cache", "import", exported, "--db", f"{run.work}/imported.sqlite"],
                          capture_output=True, text=True, timeout=60)
    check(back.returncode == 0 and f"imported {count} entries" in back.stdout,
          f"every exported entry imports: {back.stdout.strip()} {back.stderr.strip()[:500]}")


def main():
    with tempfile.TemporaryDirectory(prefix="cachette-integration-") as work:
        try:
            run = Run(work)
            sdk_flows(run)
            golden_flows(run)
            litellm_flows(run)
            translation_flows(run)
            responses_flows(run)
            proxy_flows(run)
            anthropic_flows(run)
            prompt_cache_flows(run)
            transfer_flows(run)
            stats = run.stats()
            print(f"Cachette /stats: {stats['hits']} hits, {stats['misses']} misses")
        except BaseException:
            print_logs(work, ["cachette.log", "litellm.log", "fake.log"])
            raise
        finally:
            stop_all()
    finish()


if __name__ == "__main__":
    main()
