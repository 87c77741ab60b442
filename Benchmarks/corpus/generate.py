"""Builds compression-corpus.jsonl: 72 realistic chat requests of five kinds, from a
fixed seed, so the corpus is the same on every machine. One line per request:
{"kind": ..., "request": {...}}. Run: python3 generate.py > compression-corpus.jsonl"""
import json, random, textwrap

rng = random.Random(20261121)
WORDS = ("service latency region deploy rollback cache token invoice customer order shipment warehouse "
         "payment refund ticket priority owner status pending resolved escalated account plan usage").split()
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Oslo", "Porto", "Vienna", "Prague"]

def sentence(n=12):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."

def record(i):
    return {"id": f"ord_{rng.randrange(10**6):06d}", "customer": {"name": f"Customer {i}", "city": rng.choice(CITIES),
            "tier": rng.choice(["free", "pro", "enterprise"])}, "items": [{"sku": f"SKU-{rng.randrange(999):03d}",
            "qty": rng.randrange(1, 5), "price": round(rng.uniform(3, 400), 2)} for _ in range(rng.randrange(1, 4))],
            "status": rng.choice(["pending", "shipped", "delivered", "refunded"]), "notes": sentence(8)}

def test_log(lines):
    out = ["$ pytest -q tests/", "============ test session starts ============"]
    for i in range(lines):
        out.append(f"tests/test_{rng.choice(WORDS)}.py::test_{rng.choice(WORDS)}_{i} PASSED [{i * 100 // lines:3d}%]")
    out += ["FAILED tests/test_refund.py::test_partial_refund - AssertionError: 40.0 != 38.5",
            f"============ 1 failed, {lines - 1} passed in {rng.uniform(3, 90):.2f}s ============"]
    return "\n".join(out)

def agent_trace(turns):
    messages = [{"role": "system", "content": "You are an operations agent. Use the tools to answer precisely."},
                {"role": "user", "content": "Which orders from " + rng.choice(CITIES) + " are still pending, and why?"}]
    for t in range(turns):
        call_id = f"call_{t}_{rng.randrange(10**5)}"
        messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function",
                         "function": {"name": rng.choice(["search_orders", "get_order", "list_shipments"]),
                                      "arguments": json.dumps({"query": rng.choice(WORDS), "limit": 20})}}]})
        if rng.random() < 0.25:
            # A command's log: long, and mostly the same lines.
            content = test_log(rng.randrange(150, 700))
        else:
            result = {"results": [record(i) for i in range(rng.randrange(4, 14))], "next_cursor": None,
                      "took_ms": rng.randrange(3, 90)}
            content = json.dumps(result, indent=2)
        messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
    messages.append({"role": "assistant", "content": sentence(20)})
    messages.append({"role": "user", "content": "Summarise the blockers   per order, please.\n\n\n"})
    return {"model": "gpt-4o", "messages": messages}

def rag(turns):
    # Documents pasted from mail or PDF arrive hard-wrapped at a fixed width, half the time.
    width = rng.choice([None, 72, 76])
    def paragraph():
        text = " ".join(sentence(rng.randrange(10, 20)) for _ in range(4))
        return textwrap.fill(text, width) if width else text
    docs = ["\n\n".join(paragraph() for _ in range(3)) for _ in range(2)]
    messages = [{"role": "system", "content": "Answer from the documents only. Cite them."}]
    for t in range(turns):
        context = "\n\n".join(f"Document {i + 1}:\n{d}" for i, d in enumerate(docs))
        messages.append({"role": "user", "content": f"{context}\n\nQuestion: what does the {rng.choice(WORDS)} policy say?"})
        if t < turns - 1:
            messages.append({"role": "assistant", "content": sentence(25)})
    return {"model": "gpt-4o-mini", "messages": messages}

CODE = '''def settle(orders, ledger):
    # Settle every delivered order against the ledger.
    # Orders that were refunded are skipped; see issue 214.
    total = 0
    for order in orders:  # orders come sorted by date
        if order.status == "refunded":
            continue  # nothing to settle
        # The ledger may already hold a partial payment.
        paid = ledger.get(order.id, 0)
        total += order.amount - paid
    return total
'''

TS_CODE = '''/**
 * Applies a refund to an order.
 * Partial refunds keep the order open; see RFC-12.
 */
export function refund(order: Order, amount: number): Order {
  // Never refund more than was paid.
  const capped = Math.min(amount, order.paid); // cents
  /* The ledger is append-only, so we add a negative entry. */
  ledger.append({ order: order.id, amount: -capped, note: "refund // partial" });
  return { ...order, paid: order.paid - capped }; // new object, the old one is shared
}
'''

GO_CODE = '''// Package shipping schedules deliveries.
package shipping

// Next returns the next delivery slot after t.
// Slots are every two hours from 08:00 to 18:00.
func Next(t time.Time) time.Time {
	// Round up to the next even hour.
	h := t.Hour() + 1 + t.Hour()%2 // 9 -> 10, 10 -> 12
	if h > 18 { // after the last slot
		return time.Date(t.Year(), t.Month(), t.Day()+1, 8, 0, 0, 0, t.Location())
	}
	return time.Date(t.Year(), t.Month(), t.Day(), h, 0, 0, 0, t.Location())
}
'''

def code_review(turns):
    messages = [{"role": "system", "content": "You are a careful code reviewer."}]
    language, code = rng.choice([("python", CODE), ("ts", TS_CODE), ("go", GO_CODE)])
    for t in range(turns):
        messages.append({"role": "user", "content": f"Please review this change:\n```{language}\n{code}```\nThanks!  "})
        if t < turns - 1:
            messages.append({"role": "assistant", "content": "- " + sentence(10) + "\n- " + sentence(12) + "\n\n\n" + sentence(8)})
    return {"model": "gpt-4.1", "messages": messages}

def chat(turns):
    messages = [{"role": "system", "content": "You are a friendly assistant."}]
    for t in range(turns):
        messages.append({"role": "user", "content": sentence(rng.randrange(6, 16))})
        if t < turns - 1:
            messages.append({"role": "assistant", "content": sentence(rng.randrange(10, 30))})
    return {"model": "gpt-4o", "messages": messages}

LEGAL = ("licensee licensor software copy notice warranty liability damages agreement party terms distribution "
         "modification source binary form permission grant use reproduce sublicense patent trademark contributor "
         "work derivative obligation termination jurisdiction court law remedy breach written consent").split()

def clause(n):
    return " ".join(rng.choice(LEGAL + WORDS) for _ in range(n)).capitalize() + "."

def rag_repaste(turns):
    """Documents of many short paragraphs (a licence, an FAQ, a policy), pasted again in
    later turns whole, as an excerpt of consecutive paragraphs or lines, or re-wrapped at
    another width; half of them hard-wrapped to begin with."""
    def document(kind):
        if kind == "licence":
            paragraphs = [f"{i + 1}. {clause(rng.randrange(8, 22))}" for i in range(rng.randrange(12, 30))]
        elif kind == "faq":
            paragraphs = [f"Q: {clause(rng.randrange(5, 10))[:-1]}?\nA: {clause(rng.randrange(6, 18))}" for _ in range(rng.randrange(8, 18))]
        else:
            paragraphs = [" ".join(clause(rng.randrange(6, 14)) for _ in range(rng.randrange(1, 4))) for _ in range(rng.randrange(8, 20))]
        return {"kind": kind, "paragraphs": paragraphs, "width": rng.choice([None, None, 64, 72, 80])}
    def render(doc, width):
        return "\n\n".join("\n".join(textwrap.fill(line, width) if width else line for line in p.split("\n"))
                           for p in doc["paragraphs"])
    docs = [document(k) for k in rng.sample(["licence", "faq", "policy"], rng.randrange(1, 3))]
    messages = [{"role": "system", "content": "Answer from the documents the user pastes. Quote them exactly."}]
    first = "\n\n".join(f"--- {d['kind']}.txt ---\n{render(d, d['width'])}" for d in docs)
    messages.append({"role": "user", "content": f"{first}\n\nQuestion: what does the {rng.choice(LEGAL)} section say?"})
    for t in range(1, turns):
        messages.append({"role": "assistant", "content": clause(rng.randrange(15, 40))})
        doc = rng.choice(docs)
        roll = rng.random()
        if roll < 0.4:
            pasted = render(doc, doc["width"])
        elif roll < 0.75:
            text = render(doc, doc["width"])
            if rng.random() < 0.5:
                # Consecutive paragraphs.
                paras = text.split("\n\n")
                a = rng.randrange(0, len(paras) - 3)
                pasted = "\n\n".join(paras[a:a + rng.randrange(3, min(12, len(paras) - a) + 1)])
            else:
                # Consecutive lines, from anywhere.
                lines = text.split("\n")
                a = rng.randrange(0, len(lines) - 6)
                pasted = "\n".join(lines[a:a + rng.randrange(6, min(40, len(lines) - a) + 1)])
        elif roll < 0.9:
            # The same document re-wrapped (copied from another viewer).
            pasted = render(doc, rng.choice([w for w in (None, 60, 68, 76) if w != doc["width"]]))
        else:
            extra = document(rng.choice(["licence", "faq", "policy"]))
            docs.append(extra)
            pasted = render(extra, extra["width"])
        messages.append({"role": "user", "content": f"Here it is again:\n\n{pasted}\n\n{clause(rng.randrange(6, 12))[:-1]}?"})
    return {"model": "gpt-4o-mini", "messages": messages}

kinds = [("agent_trace", agent_trace, (1, 4), 16), ("rag", rag, (1, 4), 14), ("code_review", code_review, (1, 3), 12), ("chat", chat, (1, 6), 14),
         ("rag_repaste", rag_repaste, (3, 6), 16)]
for kind, build, (lo, hi), count in kinds:
    for _ in range(count):
        print(json.dumps({"kind": kind, "request": build(rng.randrange(lo, hi + 1))}))
