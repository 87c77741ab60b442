"""Anthropic's prompt cache as it bills, for the fake upstream (the Swift tests' twin is
Tests/CachetteServerTests/Support/PromptCacheBilling.swift).

- Blocks in render order: each tool, each system block (a system string is one), then
  each content block of each message (a string content is one).
- More than 4 breakpoints, or one on a thinking or redacted_thinking block: a 400.
- Each breakpoint looks back up to 20 blocks for a prefix written earlier under the same
  credential and model and not yet expired; the longest found is read, and its lifetime
  starts again.
- The prefix up to each breakpoint is written (one shorter than the minimum never is);
  the tokens from the end of what was read to the last breakpoint are billed as
  written, each stretch at its breakpoint's lifetime.
- A prefix lives 5 minutes, or an hour when its breakpoint asks ("ttl": "1h").
- A block's tokens: a quarter of its bytes, rounded up, without its cache_control.
"""

import hashlib
import json
import threading
import time

LOOK_BACK = 20
MAX_BREAKPOINTS = 4


class Refused(Exception):
    pass


def _blocks(request):
    out = []

    def add(value, tag):
        control = None
        if isinstance(value, dict):
            control = value.get("cache_control")
            value = {k: v for k, v in value.items() if k != "cache_control"}
        data = (tag + "\0" + json.dumps(value, separators=(",", ":"), ensure_ascii=False)).encode()
        kind = value.get("type") if isinstance(value, dict) else None
        lifetime = None if control is None else (3600 if isinstance(control, dict) and control.get("ttl") == "1h" else 300)
        out.append((data, (len(data) + 3) // 4, lifetime, kind in ("thinking", "redacted_thinking")))

    for tool in request.get("tools") or []:
        add(tool, "tool")
    system = request.get("system")
    if isinstance(system, str):
        add({"type": "text", "text": system}, "system")
    elif isinstance(system, list):
        for block in system:
            add(block, "system")
    for message in request.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            add({"type": "text", "text": content}, message.get("role", ""))
        elif isinstance(content, list):
            for block in content:
                add(block, message.get("role", ""))
    return out


class Billing:
    def __init__(self, minimum_tokens=1024):
        self.minimum_tokens = minimum_tokens
        self.written = {}
        self.totals = {}
        self.lock = threading.Lock()

    def bill(self, request, credential, group="", now=None):
        """The usage Anthropic would report, or Refused with its message."""
        now = time.time() if now is None else now
        blocks = _blocks(request)
        breakpoints = [i for i, b in enumerate(blocks) if b[2] is not None]
        if len(breakpoints) > MAX_BREAKPOINTS:
            raise Refused(f"A maximum of 4 blocks with cache_control may be provided. Found {len(breakpoints)}.")
        if any(blocks[i][3] for i in breakpoints):
            raise Refused("cache_control cannot be set for thinking blocks.")
        running = hashlib.sha256((credential + "\0" + str(request.get("model", "")) + "\0").encode())
        prefixes, through, total = [], [], 0
        for data, tokens, _, _ in blocks:
            running.update(data + b"\0")
            prefixes.append(running.copy().hexdigest())
            total += tokens
            through.append(total)
        with self.lock:
            read = -1
            for bp in breakpoints:
                for j in range(bp, max(0, bp - LOOK_BACK) - 1, -1):
                    if j <= read:
                        break
                    if self.written.get(prefixes[j], 0) > now:
                        read = j
                        break
            usage = {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                     "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
            if read >= 0:
                usage["cache_read_input_tokens"] = through[read]
                lifetime = blocks[read][2] or 300
                self.written[prefixes[read]] = max(self.written.get(prefixes[read], 0), now + lifetime)
            end = read
            for bp in breakpoints:
                if through[bp] < self.minimum_tokens:
                    continue
                self.written[prefixes[bp]] = max(self.written.get(prefixes[bp], 0), now + blocks[bp][2])
                if bp > end:
                    stretch = through[bp] - (through[end] if end >= 0 else 0)
                    kind = "ephemeral_1h_input_tokens" if blocks[bp][2] == 3600 else "ephemeral_5m_input_tokens"
                    usage["cache_creation"][kind] += stretch
                    usage["cache_creation_input_tokens"] += stretch
                    end = bp
            usage["input_tokens"] = total - usage["cache_read_input_tokens"] - usage["cache_creation_input_tokens"]
            sums = self.totals.setdefault(f"{credential}/{group}", {"requests": 0, "input": 0, "read": 0, "write_5m": 0, "write_1h": 0})
            sums["requests"] += 1
            sums["input"] += usage["input_tokens"]
            sums["read"] += usage["cache_read_input_tokens"]
            sums["write_5m"] += usage["cache_creation"]["ephemeral_5m_input_tokens"]
            sums["write_1h"] += usage["cache_creation"]["ephemeral_1h_input_tokens"]
        return usage

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.totals))
