"""Replays generated traffic through the sidecar in front of the billing fake
(Tests/Integration/fake_upstream.py --billing) and prints what each kind of traffic cost
under three policies, in one run:

- none: no markers (x-cachette-prompt-cache: off);
- system+last: the client marks the system prompt and the last turn, as LiteLLM's
  injection, Bifrost, Cloudflare and Vercel do (the sidecar leaves marked requests alone);
- steered: no client markers, the sidecar's priced breakpoints (auto).

Native /v1/messages and translated chat (an OpenAI request for a Claude model) alike.
Prices are Claude Sonnet's: $3 input, $3.75 five-minute write, $6 hour write, $0.30 read,
per million tokens. Exits non-zero when a target of issue 29 is missed.

usage: prompt_cache_replay.py SIDECAR_URL FAKE_URL [--seed N] [--json FILE]
"""

import argparse
import http.client
import json
import random
import sys
import urllib.parse
import urllib.request

PRICES = {"input": 3.0, "write_5m": 3.75, "write_1h": 6.0, "read": 0.30}
CLASSES = ["agent", "shared_system", "unique_long", "short"]
WORDS = ("the cache prefix token agent tool result file line error test build function value return "
         "module request answer stream write read offset index table query schema commit branch").split()


def words(rng, count):
    """Prose mixed with identifiers, paths and numbers, as prompts are: about four bytes
    a token, as the billing fake counts."""
    out = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.6:
            out.append(rng.choice(WORDS))
        elif pick < 0.75:
            out.append(rng.choice(WORDS) + rng.choice(WORDS).capitalize() + str(rng.randrange(100)))
        elif pick < 0.85:
            out.append(f"src/{rng.choice(WORDS)}/{rng.choice(WORDS)}.swift:{rng.randrange(1, 900)}")
        elif pick < 0.95:
            out.append(str(rng.randrange(100000)))
        else:
            out.append(rng.choice(["(x, y)", "{ }", "->", "==", "[0]", "&&", "//", "\"\"", "a.b()", "#1"]))
    return " ".join(out)


def generate(seed):
    """Conversations in a neutral shape: (class, list of requests), a request being
    {system, tools, turns}, a turn a (role, parts) with parts text / tool_use / tool_result."""
    rng = random.Random(seed)
    tools = [{"name": f"tool_{i}", "description": words(rng, 120), "schema": {"type": "object", "properties": {"path": {"type": "string"}}}}
             for i in range(4)]
    agent_system = "You are a coding agent. " + words(rng, 1100)
    streams = []
    for session in range(6):
        turns = [("user", [("text", f"Task {seed}-{session}: " + words(rng, 60))])]
        requests = []
        for step in range(rng.randint(14, 19)):
            requests.append({"system": agent_system, "tools": tools, "turns": list(turns)})
            calls = rng.randint(8, 12) if rng.random() < 0.15 else 1
            ids = [f"toolu_{seed}_{session}_{step}_{c}" for c in range(calls)]
            turns.append(("assistant", [("text", words(rng, 20))] + [("tool_use", i, rng.choice(tools)["name"]) for i in ids]))
            turns.append(("user", [("tool_result", i, words(rng, rng.randint(60, 600))) for i in ids]))
        streams.append(("agent", requests))
    systems = ["You answer questions about our product. " + words(rng, rng.randint(900, 1500)) for _ in range(3)]
    for index in range(60):
        streams.append(("shared_system", [{"system": rng.choice(systems), "tools": [], "turns": [("user", [("text", f"Q{index}: " + words(rng, rng.randint(15, 60)))])]}]))
    for index in range(60):
        document = f"Document {seed}-{index}. " + words(rng, rng.randint(1500, 4000))
        streams.append(("unique_long", [{"system": "You summarise documents.", "tools": [], "turns": [("user", [("text", "Summarise this: " + document)])]}]))
    for index in range(60):
        streams.append(("short", [{"system": "Be brief.", "tools": [], "turns": [("user", [("text", f"Question {index}: " + words(rng, 12))])]}]))
    # Interleaved as traffic arrives, each conversation in its own order.
    order, cursors = [], [0] * len(streams)
    remaining = sum(len(s[1]) for s in streams)
    while remaining:
        pick = rng.randrange(remaining)
        for index, (kind, requests) in enumerate(streams):
            left = len(requests) - cursors[index]
            if pick < left:
                order.append((kind, requests[cursors[index]]))
                cursors[index] += 1
                break
            pick -= left
        remaining -= 1
    return order


MARK = {"type": "ephemeral"}


def native(request, marked):
    system = [{"type": "text", "text": request["system"]}] if marked else request["system"]
    if marked:
        system[-1]["cache_control"] = MARK
    messages = []
    for role, parts in request["turns"]:
        blocks = []
        for part in parts:
            if part[0] == "text":
                blocks.append({"type": "text", "text": part[1]})
            elif part[0] == "tool_use":
                blocks.append({"type": "tool_use", "id": part[1], "name": part[2], "input": {"path": "src/main.swift"}})
            else:
                blocks.append({"type": "tool_result", "tool_use_id": part[1], "content": part[2]})
        messages.append({"role": role, "content": blocks})
    if marked:
        messages[-1]["content"][-1]["cache_control"] = MARK
    body = {"model": "claude-sonnet-4-6", "max_tokens": 256, "system": system, "messages": messages}
    if request["tools"]:
        body["tools"] = [{"name": t["name"], "description": t["description"], "input_schema": t["schema"]} for t in request["tools"]]
    return "/v1/messages", body


def translated(request, marked):
    messages = [{"role": "system", "content": request["system"]}]
    for role, parts in request["turns"]:
        if role == "assistant":
            text = " ".join(p[1] for p in parts if p[0] == "text")
            calls = [{"id": p[1], "type": "function", "function": {"name": p[2], "arguments": json.dumps({"path": "src/main.swift"})}}
                     for p in parts if p[0] == "tool_use"]
            messages.append({"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})})
        else:
            for part in parts:
                if part[0] == "tool_result":
                    messages.append({"role": "tool", "tool_call_id": part[1], "content": part[2]})
                else:
                    messages.append({"role": "user", "content": part[1]})
    if marked:
        # LiteLLM's injection points: the system message and the last message.
        messages[0]["cache_control"] = MARK
        messages[-1]["cache_control"] = MARK
    body = {"model": "claude-sonnet-4-6", "max_tokens": 256, "messages": messages}
    if request["tools"]:
        body["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t["description"], "parameters": t["schema"]}}
                         for t in request["tools"]]
    return "/v1/chat/completions", body


def dollars(sums):
    return sum(sums.get(kind, 0) * price for kind, price in PRICES.items()) / 1e6


def replay(sidecar, fake, traffic, mode, policy, seed):
    url = urllib.parse.urlparse(sidecar)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    credential = f"sk-ant-bench-{mode}-{policy}-{seed}"
    build = native if mode == "native" else translated
    failures = 0
    for kind, request in traffic:
        path, body = build(request, policy == "system+last")
        headers = {"content-type": "application/json", "x-bench-group": kind, "anthropic-version": "2023-06-01",
                   "x-cachette-prompt-cache": "auto" if policy == "steered" else "off"}
        if mode == "native":
            headers["x-api-key"] = credential
        else:
            headers["authorization"] = f"Bearer {credential}"
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            failures += 1
            print(f"  {mode} {policy} {kind}: {response.status} {answer[:300]!r}", file=sys.stderr)
    totals = json.load(urllib.request.urlopen(f"{fake}/_billing"))
    return {kind: totals.get(f"{credential}/{kind}", {}) for kind in CLASSES}, failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sidecar")
    parser.add_argument("fake")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json")
    args = parser.parse_args()
    traffic = generate(args.seed)
    counts = {kind: sum(1 for k, _ in traffic if k == kind) for kind in CLASSES}
    print(f"traffic (seed {args.seed}): " + ", ".join(f"{counts[k]} {k}" for k in CLASSES))
    results, missed = {}, []
    for mode in ["native", "translated"]:
        results[mode] = {}
        failures = 0
        for policy in ["none", "system+last", "steered"]:
            sums, failed = replay(args.sidecar, args.fake, traffic, mode, policy, args.seed)
            results[mode][policy] = sums
            failures += failed
        print(f"\n{mode}: dollars per traffic kind (Sonnet prices)")
        print(f"  {'traffic':<14} {'none':>9} {'sys+last':>9} {'steered':>9} {'vs none':>8} {'vs s+l':>8}")
        for kind in CLASSES:
            none, policy, steered = (dollars(results[mode][p][kind]) for p in ["none", "system+last", "steered"])
            print(f"  {kind:<14} {none:>9.4f} {policy:>9.4f} {steered:>9.4f} {steered / none - 1:>+8.1%} {steered / policy - 1:>+8.1%}")
            limit = {"agent": ("system+last", policy, 0.0), "shared_system": ("system+last", policy, 0.10),
                     "unique_long": ("none", none, 0.01), "short": ("none", none, 0.0)}[kind]
            if steered > limit[1] * (1 + limit[2]) + 1e-9:
                missed.append(f"{mode} {kind}: ${steered:.4f} is more than {limit[0]} ${limit[1]:.4f} +{limit[2]:.0%}")
        if failures:
            missed.append(f"{mode}: {failures} requests were not answered 200")
        else:
            print(f"  every request answered 200 ({3 * len(traffic)})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("\ntargets: " + ("all met" if not missed else "MISSED:\n  " + "\n  ".join(missed)))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
