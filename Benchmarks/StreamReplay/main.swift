import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// Replays one cached 200-chunk stream to concurrent clients and reports, per stream,
/// the time to the first byte and the time to the end of `[DONE]`.
/// Each client is a thread with a blocking keep-alive socket, so the client costs
/// little next to the server being measured (an HTTP client library costs more than
/// the replay itself). Usage: StreamReplay <port> [clients=16] [seconds=10]
///
/// `StreamReplay <port> --misses [seconds=10]` sends unique stream requests instead,
/// one at a time on one keep-alive connection: the streamed miss, against the sidecar
/// or (for the baseline) the fake upstream itself.
let arguments = Array(CommandLine.arguments.dropFirst())
let port = arguments.first.flatMap(UInt16.init) ?? 18766
let missMode = arguments.count > 1 && arguments[1] == "--misses"
let clients = missMode ? 1 : arguments.count > 1 ? Int(arguments[1]) ?? 16 : 16
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 10 : 10

func request(prompt: String) -> [UInt8] {
    let body = #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"\#(prompt)"}]}"#
    return Array(
        ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Authorization: Bearer sk-bench\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
}
let replayRequest = request(prompt: "replay benchmark")

struct Failure: Error { var what: String }
struct Sample: Sendable { var firstByte: UInt64; var total: UInt64; var hit: Bool; var bytes: Int }

func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

final class Connection {
    let fd: Int32
    var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw Failure(what: "connect to port \(port) failed") }
    }

    /// One request; reads the whole response (Content-Length or chunked), keeping only
    /// the head and the last bytes so the client stays cheap.
    func replay(_ request: [UInt8] = replayRequest) throws -> Sample {
        let start = nanos()
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { throw Failure(what: "send") }
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var firstByte: UInt64 = 0
        var bodyBytes = 0
        var expected: Int?
        var chunked = false
        var inBody = false
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(what: "connection closed") }
            if firstByte == 0 { firstByte = nanos() - start }
            var chunk = buffer[0..<n]
            if !inBody {
                head += chunk
                guard let end = find(Array("\r\n\r\n".utf8), in: head) else { continue }
                inBody = true
                chunk = ArraySlice(head[(end + 4)...])
                head = Array(head[..<end])
                let text = String(decoding: head, as: UTF8.self).lowercased()
                chunked = text.contains("transfer-encoding: chunked")
                if let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                    expected = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                }
            }
            bodyBytes += chunk.count
            tail = Array((tail + chunk).suffix(32))
            if let expected, bodyBytes >= expected { break }
            if chunked, tail.suffix(5).elementsEqual("0\r\n\r\n".utf8) { break }
        }
        guard find(Array("data: [DONE]".utf8), in: tail) != nil else { throw Failure(what: "no [DONE] at the end of the answer") }
        let hit = String(decoding: head, as: UTF8.self).lowercased().contains("x-cache: hit")
        return Sample(firstByte: firstByte, total: nanos() - start, hit: hit, bytes: bodyBytes)
    }
}

func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) {
        return i
    }
    return nil
}

func percentile(_ values: [UInt64], _ p: Double) -> String {
    let sorted = values.sorted()
    return String(format: "%.0f us", Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000)
}

if missMode {
    let connection = try Connection()
    let run = "\(getpid())-\(nanos())"
    var samples: [Sample] = []
    let end = nanos() + UInt64(seconds * 1e9)
    while nanos() < end { samples.append(try connection.replay(request(prompt: "miss \(run) \(samples.count)"))) }
    let hits = samples.filter(\.hit).count
    print("streamed misses: \(samples.count) in \(Int(seconds)) s, \(hits) hits")
    print("time to first byte: p50 \(percentile(samples.map(\.firstByte), 0.5))  p99 \(percentile(samples.map(\.firstByte), 0.99))")
    print("time to [DONE]:     p50 \(percentile(samples.map(\.total), 0.5))  p99 \(percentile(samples.map(\.total), 0.99))")
    exit(0)
}

// Fill the cache (the miss), then wait until the entry is served as a hit.
let primer = try Connection()
_ = try primer.replay()
for _ in 0..<50 where try !primer.replay().hit { usleep(100_000) }

let deadline = nanos() + UInt64(seconds * 1e9)
let results = Mutex<(samples: [Sample], failures: [String])>(([], []))
let done = DispatchGroup()
for _ in 0..<clients {
    done.enter()
    Thread.detachNewThread {
        defer { done.leave() }
        var mine: [Sample] = []
        do {
            let connection = try Connection()
            while nanos() < deadline { mine.append(try connection.replay()) }
        } catch {
            results.withLock { $0.failures.append("\(error)") }
        }
        results.withLock { $0.samples += mine }
    }
}
done.wait()
let (samples, failures) = results.withLock { $0 }

let hits = samples.filter(\.hit).count
print(
    "streams: \(samples.count) in \(Int(seconds)) s with \(clients) clients (\(Int(Double(samples.count) / seconds))/s), \(hits) hits, \(samples.first?.bytes ?? 0) bytes each"
)
print(
    "time to first byte: p50 \(percentile(samples.map(\.firstByte), 0.5))  p90 \(percentile(samples.map(\.firstByte), 0.9))  p99 \(percentile(samples.map(\.firstByte), 0.99))"
)
print(
    "time to [DONE]:     p50 \(percentile(samples.map(\.total), 0.5))  p90 \(percentile(samples.map(\.total), 0.9))  p99 \(percentile(samples.map(\.total), 0.99))"
)
if !failures.isEmpty { print("failures: \(failures.count), e.g. \(failures[0])") }
