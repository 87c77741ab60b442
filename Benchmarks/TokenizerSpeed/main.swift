import CachetteCore
import Foundation

/// Encodes every text of a JSONL corpus (`{"text": …}` per line) with both encodings,
/// single-threaded, and prints throughput, token totals and vocabulary load time in
/// the same format as `scripts/tiktoken_speed.py`, so the two can be read side by side.
/// Usage: TokenizerSpeed CORPUS [seconds-per-encoding=3]
let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first else {
    FileHandle.standardError.write(Data("usage: TokenizerSpeed CORPUS [seconds]\n".utf8))
    exit(2)
}
let duration = arguments.dropFirst().first.flatMap(Double.init) ?? 3
let texts = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
    try? JSONValue.parse(String($0))["text"]?.stringValue
}
let bytes = texts.reduce(0) { $0 + $1.utf8.count }

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

for encoding in TokenEncoding.allCases {
    let loadStart = ContinuousClock.now
    let vocabulary = try Vocabulary.load(encoding)
    let load = ContinuousClock.now - loadStart
    let tokenizer = Tokenizer(encoding: encoding, vocabulary: vocabulary)
    var tokens = 0
    for text in texts { tokens += tokenizer.count(text) }  // warm-up, and the total to compare
    var passes = 0
    let start = ContinuousClock.now
    while ContinuousClock.now - start < .seconds(duration) {
        for text in texts { _ = tokenizer.count(text) }
        passes += 1
    }
    let elapsed = seconds(ContinuousClock.now - start)
    let mbps = Double(bytes * passes) / elapsed / 1_000_000
    print(String(format: "cachette  %@  %7.2f MB/s  %d tokens  load %.0f ms", encoding.rawValue, mbps, tokens, seconds(load) * 1000))
}
