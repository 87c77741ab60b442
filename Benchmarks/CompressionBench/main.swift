import CachetteCore
import Foundation

/// Compresses every request of the corpus (`corpus/compression-corpus.jsonl`) at each
/// level and reports tokens saved per kind, whether any JSON value changed at `safe`
/// (and how many tool outputs `aggressive` cut), and the
/// time compression adds per request (parse, compress, serialize: what the sidecar does).
/// Usage: CompressionBench CORPUS
let path = CommandLine.arguments.dropFirst().first ?? "corpus/compression-corpus.jsonl"
let rows = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
let tokenizer = try Tokenizer.shared(.o200k)

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// What the sidecar does to a miss's body.
func compressBody(_ body: [UInt8], _ compressor: PromptCompressor) -> [UInt8] {
    guard var request = try? JSONValue.parse(body), let messages = request["messages"]?.arrayValue else { return body }
    let (rewritten, report) = compressor.compress(messages: messages)
    guard report.saved > 0 else { return body }
    request.set("messages", .array(rewritten))
    return request.serialized()
}

func p50(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

for level in CompressionLevel.allCases where level != .off {
    let compressor = PromptCompressor(options: CompressionOptions(level: level), tokenizer: tokenizer)
    var byKind: [String: (before: Int, after: Int, requests: Int)] = [:]
    var jsonChanged = 0, jsonChecked = 0, toolOutputsCut = 0
    for row in rows {
        let kind = row["kind"]!.stringValue!
        let messages = row["request"]!["messages"]!.arrayValue!
        let (out, report) = compressor.compress(messages: messages)
        var entry = byKind[kind] ?? (0, 0, 0)
        entry.before += report.before.reduce(0, +)
        entry.after += report.after.reduce(0, +)
        entry.requests += 1
        byKind[kind] = entry
        for (before, after) in zip(messages, out) {
            if after["content"]?.stringValue?.contains("[… Cachette cut ") == true { toolOutputsCut += 1 }
            guard level == .safe, let text = before["content"]?.stringValue, let value = try? JSONValue.parse(text),
                value.members != nil || value.arrayValue != nil,
                let rewritten = after["content"]?.stringValue, !rewritten.hasPrefix("[Same")
            else { continue }
            jsonChecked += 1
            if (try? JSONValue.parse(rewritten)) != value { jsonChanged += 1 }
        }
    }
    print("== level \(level.rawValue): \(rows.count) requests")
    var total = (0, 0)
    for kind in byKind.keys.sorted() {
        let k = byKind[kind]!
        total = (total.0 + k.before, total.1 + k.after)
        print(
            String(
                format: "%-12@ %3d requests  %8d → %8d tokens  %5.1f%% saved", kind, k.requests, k.before, k.after,
                Double(k.before - k.after) * 100 / Double(max(k.before, 1))))
    }
    print(
        String(
            format: "%-12@ %3d requests  %8d → %8d tokens  %5.1f%% saved", "all", rows.count, total.0, total.1,
            Double(total.0 - total.1) * 100 / Double(max(total.0, 1))))
    if level == .safe { print("JSON values checked: \(jsonChecked), changed: \(jsonChanged)") }
    // The provider's prefix cache keeps hitting: each turn's compressed messages begin,
    // byte for byte, with the previous turn's.
    var conversations = 0, kept = 0
    for row in rows {
        let messages = row["request"]!["messages"]!.arrayValue!
        let turnEnds = messages.indices.filter { messages[$0]["role"]?.stringValue == "user" }.map { $0 + 1 }
        guard turnEnds.count >= 2 else { continue }
        conversations += 1
        let turns = turnEnds.map { compressor.compress(messages: Array(messages.prefix($0))).messages.map { $0.serialized() } }
        if zip(turns, turns.dropFirst()).allSatisfy({ earlier, later in Array(later.prefix(earlier.count)) == earlier }) { kept += 1 }
    }
    print(
        String(
            format: "prefix cache kept turn to turn: %d of %d multi-turn conversations (%.0f%%)", kept, conversations,
            Double(kept) * 100 / Double(max(conversations, 1))))
    // Anything less would make every later turn a provider cache miss: a bug, not a figure.
    if kept != conversations {
        print("error: compression is not prefix-stable on this corpus")
        exit(1)
    }
    if level == .aggressive { print("tool outputs cut to head and tail: \(toolOutputsCut)") }

    // Time per request, and for a 32 KB agent trace, counting as the sidecar counts:
    // only what a rewrite changed (the counts above are whole, for the report).
    let timed = PromptCompressor(options: compressor.options, tokenizer: tokenizer, countsUnchanged: false)
    var times: [Double] = []
    let bodies = rows.map { $0["request"]!.serialized() }
    for body in bodies {
        var samples: [Double] = []
        for _ in 0..<15 {
            let start = ContinuousClock.now
            _ = compressBody(body, timed)
            samples.append(seconds(ContinuousClock.now - start))
        }
        times.append(p50(samples))
    }
    print(
        String(
            format: "time per request: p50 %.0f µs, max %.0f µs (bodies %d to %d bytes)",
            p50(times) * 1e6, times.max()! * 1e6, bodies.map(\.count).min()!, bodies.map(\.count).max()!))
    // 32 KB requests of agent-trace turns (a tool call and its result), as many as fit:
    // JSON results only, and one test log among JSON results.
    let turns = rows.filter { $0["kind"]?.stringValue == "agent_trace" }.flatMap { row -> [[JSONValue]] in
        let trace = row["request"]!["messages"]!.arrayValue!
        return trace.indices.filter { trace[$0]["tool_calls"] != nil && $0 + 1 < trace.count }.map { [trace[$0], trace[$0 + 1]] }
    }
    func isLog(_ turn: [JSONValue]) -> Bool { turn[1]["content"]?.stringValue?.hasPrefix("$ ") == true }
    func size(_ messages: [JSONValue]) -> Int { JSONValue.object(["model": .string("gpt-4o"), "messages": .array(messages)]).serialized().count }
    let firstLog = turns.first { isLog($0) && size($0) < 20 << 10 }!
    for (name, start) in [("JSON tool results", [JSONValue]()), ("a test log and JSON tool results", firstLog)] {
        var messages: [JSONValue] = [.object(["role": .string("user"), "content": .string("Investigate the pending orders.")])] + start
        for turn in turns where !isLog(turn) && size(messages + turn) <= 32 << 10 { messages += turn }
        let big = JSONValue.object(["model": .string("gpt-4o"), "messages": .array(messages)]).serialized()
        var samples: [Double] = []
        for _ in 0..<50 {
            let start = ContinuousClock.now
            _ = compressBody(big, timed)
            samples.append(seconds(ContinuousClock.now - start))
        }
        print(String(format: "%d-byte agent trace (%@): p50 %.2f ms", big.count, name, p50(samples) * 1e3))
    }
}
