"""LiteLLM's `headroom` compression guardrail served by Cachette's POST /v1/compress.
Run by `make integration`.

The real LiteLLM proxy (pinned in requirements.txt) calls the fake upstream directly;
before each call its guardrail POSTs the rows it lets a service touch to the sidecar,
and puts the answers back by position among the rows it held back (the system rows,
the last user row, every assistant row). Checked:
1. the fake upstream receives the tool results compressed, every other row as sent,
   and no reference to another row (which would name the wrong one after LiteLLM's
   re-interleaving);
2. the sidecar's /stats and ledger book it as route `compress`: saved tokens, no
   upstream call;
3. with the sidecar down, `fail_closed` refuses the request and `fail_open` forwards
   it uncompressed.
"""

import json
import os
import sys

import requests
import yaml

import common
from common import check, free_port, get_json, run_suite, start, start_fake, start_sidecar, wait_for

CLOSED, OPEN = "cachette-compress", "cachette-compress-open"

ROWS = [{"id": i, "name": f"row {i}", "tags": ["alpha", "beta"], "ok": i % 2 == 0} for i in range(40)]
PRETTY = json.dumps(ROWS, indent=4)
MINIFIED = json.dumps(ROWS, separators=(",", ":"))

# Two tool exchanges whose results are the same document: with references on, the
# second would become "[Same text as in message N above.]", N counted among the rows
# LiteLLM sent, not among the rows the model sees.
CONVERSATION = [
    {"role": "system", "content": "You are a careful assistant.\n\n\n    Answer briefly."},
    {"role": "user", "content": "List the rows."},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "list_rows", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": PRETTY},
    {"role": "assistant", "content": "Here are   the rows."},
    {"role": "user", "content": "Again, please."},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_b", "type": "function", "function": {"name": "list_rows", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_b", "content": PRETTY},
    {"role": "assistant", "content": "Done."},
    {"role": "user", "content": "Which rows are ok?"},
]


def proxy_config(fake, sidecar, master_key):
    return {
        "model_list": [{"model_name": "gpt-4o", "litellm_params": {
            "model": "openai/gpt-4o", "api_base": f"{fake}/v1", "api_key": "sk-int-guardrail"}}],
        "guardrails": [
            {"guardrail_name": CLOSED, "litellm_params": {"guardrail": "headroom", "mode": "pre_call", "api_base": sidecar}},
            {"guardrail_name": OPEN, "litellm_params": {"guardrail": "headroom", "mode": "pre_call", "api_base": sidecar,
                                                        "unreachable_fallback": "fail_open"}},
        ],
        "litellm_settings": {"cache": False},
        "general_settings": {"master_key": master_key},
    }


def chat(proxy, master_key, guardrail, conversation):
    return requests.post(f"{proxy}/v1/chat/completions", headers={"Authorization": f"Bearer {master_key}"},
                         json={"model": "gpt-4o", "messages": conversation, "guardrails": [guardrail]}, timeout=60)


def upstream_messages(fake):
    return get_json(f"{fake}/_calls")["last"]["/v1/chat/completions"]["body"]["messages"]


def upstream_calls(fake):
    return get_json(f"{fake}/_calls")["calls"].get("/v1/chat/completions", 0)


def compressed_flows(proxy, master_key, fake, sidecar):
    print("LiteLLM proxy + headroom guardrail -> Cachette /v1/compress; LiteLLM -> fake OpenAI")
    reply = chat(proxy, master_key, CLOSED, CONVERSATION)
    check(reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"],
          f"LiteLLM answered through the guardrail: {reply.status_code} {reply.text[:300]}")
    check(CLOSED in reply.headers.get("x-litellm-applied-guardrails", ""),
          f"LiteLLM says the guardrail ran: {reply.headers.get('x-litellm-applied-guardrails')}")
    sent = upstream_messages(fake)
    check([m["role"] for m in sent] == [m["role"] for m in CONVERSATION], "the upstream got every row, in order")
    tools = [m for m in sent if m["role"] == "tool"]
    check([m["content"] for m in tools] == [MINIFIED, MINIFIED] and [m["tool_call_id"] for m in tools] == ["call_a", "call_b"],
          "the upstream got both tool results minified, each under its own call id (no reference to another row)")
    held = [i for i, m in enumerate(CONVERSATION) if m["role"] in ("system", "assistant") or i == len(CONVERSATION) - 1]
    check(all(sent[i].get("content") == CONVERSATION[i]["content"] for i in held),
          "the rows LiteLLM held back (system, assistant, last user) reached the upstream as sent")
    check(not any("Same text" in (m.get("content") or "") for m in sent), "no row refers to another")

    stats = get_json(f"{sidecar}/stats")
    check(stats["answered_locally"] == 1 and stats["misses"] == 0 and stats["bypassed"] == 0,
          f"/stats: one request answered locally, none sent upstream: {stats['answered_locally']}, {stats['misses']}, {stats['bypassed']}")
    saved = stats["models"]["gpt-4o"]["saved_compression_tokens"]
    check(saved > 100, f"/stats books the guardrail's saved tokens under the model: {saved}")
    recent = get_json(f"{sidecar}/stats/recent")["requests"]
    check(recent and recent[0]["route"] == "compress" and recent[0]["outcome"] == "local",
          f"the ledger books it as route compress, outcome local: {recent[:1]}")


def direct_flows(sidecar):
    print("POST /v1/compress directly: the contract LiteLLM reads")
    body = requests.post(f"{sidecar}/v1/compress", json={"messages": CONVERSATION[3:4] + CONVERSATION[7:8], "model": "gpt-4o"},
                         timeout=30).json()
    check(len(body["messages"]) == 2 and body["messages"][1]["content"] == MINIFIED,
          "the same count back, the repeated document minified, not referenced")
    check(body["tokens_saved"] == body["tokens_before"] - body["tokens_after"] > 0
          and abs(body["compression_ratio"] - body["tokens_after"] / body["tokens_before"]) < 1e-9
          and body["transforms_applied"] == ["json_minify"], f"counts, ratio and transforms: {json.dumps(body)[-200:]}")
    bad = requests.post(f"{sidecar}/v1/compress", json={"messages": [{"content": "no role"}]}, timeout=30)
    check(bad.status_code == 400 and bad.json()["error"]["param"] == "messages", f"a row without a role is a 400: {bad.text}")


def sidecar_down_flows(proxy, master_key, fake, sidecar_process):
    print("the sidecar down: fail_closed refuses, fail_open forwards uncompressed")
    sidecar_process.terminate()
    sidecar_process.wait(timeout=10)
    before = upstream_calls(fake)
    refused = chat(proxy, master_key, CLOSED, CONVERSATION)
    check(refused.status_code >= 500 and upstream_calls(fake) == before,
          f"fail_closed: refused, nothing sent upstream ({refused.status_code} {refused.text[:200]})")
    forwarded = chat(proxy, master_key, OPEN, CONVERSATION)
    check(forwarded.status_code == 200 and upstream_calls(fake) == before + 1,
          f"fail_open: answered ({forwarded.status_code} {forwarded.text[:200]})")
    check([m["content"] for m in upstream_messages(fake) if m["role"] == "tool"] == [PRETTY, PRETTY],
          "fail_open: the tool results went uncompressed")


def main(work):
    fake = start_fake(work)
    sidecar = start_sidecar(work, fake)
    sidecar_process = common.processes[-1]
    master_key = "sk-int-master-" + os.urandom(8).hex()
    with open(f"{work}/litellm.yaml", "w") as f:
        yaml.safe_dump(proxy_config(fake, sidecar, master_key), f)
    port = free_port()
    proxy = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    litellm_bin = os.path.join(os.path.dirname(sys.executable), "litellm")
    process = start([litellm_bin, "--config", f"{work}/litellm.yaml", "--host", "127.0.0.1", "--port", str(port)],
                    open(f"{work}/litellm.log", "w"), env)
    wait_for(f"{proxy}/health/liveliness", 180, process)
    compressed_flows(proxy, master_key, fake, sidecar)
    direct_flows(sidecar)
    sidecar_down_flows(proxy, master_key, fake, sidecar_process)

if __name__ == "__main__":
    run_suite("cachette-guardrail-", ["cachette.log", "litellm.log", "fake.log"], main)
