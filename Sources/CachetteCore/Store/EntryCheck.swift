import NIOCore

/// What an entry that comes from outside this process (an import line, a shared row)
/// must be before it is stored or served: what a live, well-formed answer stored by
/// this build could have been. The answer passes the check a live one does
/// (`AnswerShape`, a JSON content type, well-formed usage); a recorded stream replays
/// through its route's dialect into that same answer; times are plausible and sizes
/// within what an upstream may send.
package struct EntryCheck: Sendable {
    /// `upstream.max_response_bytes`: the largest answer, and recording, a live one can be.
    public var maxBytes: Int
    /// `cache.max_ttl`: an entry that claims to live longer is kept that long.
    package var maxTTL: Double

    /// Nothing this project stored is older (2020-01-01).
    package static let earliest = 1_577_836_800.0
    /// How far ahead of this clock another replica's (or an exporter's) may run.
    package static let clockSkew = 86_400.0

    package init(maxBytes: Int = 64 << 20, maxTTL: Double = 365 * 86_400) {
        self.maxBytes = maxBytes
        self.maxTTL = maxTTL
    }

    /// The entry as it may be kept (its expiry held to `maxTTL` after its creation), or
    /// why it may not be.
    public func checked(_ entry: NewEntry, now: Double) -> Result<NewEntry, Problem> {
        var entry = entry
        let response = entry.response
        guard let shape = AnswerShape(path: entry.route) else { return .failure(Problem("route \(entry.route) is not a cached route")) }
        guard !entry.model.isEmpty, ModelName.problem(entry.model) == nil else { return .failure(Problem("model is not a model name")) }
        guard (200..<300).contains(response.status) else { return .failure(Problem("status \(response.status) is not a 2xx")) }
        guard MediaType.isJSON(response.contentType) else { return .failure(Problem("content type \(response.contentType) is not JSON")) }
        if let problem = Self.timesProblem(created: response.createdAt, expires: response.expiresAt, now: now) {
            return .failure(Problem(problem))
        }
        entry.response.expiresAt = min(response.expiresAt, response.createdAt + maxTTL)
        let usage = response.usage
        let counts = [usage.promptTokens, usage.completionTokens, usage.cachedPromptTokens, usage.cacheWritePromptTokens]
        guard counts.allSatisfy({ (0...TokenUsage.maxCount).contains($0) }) else { return .failure(Problem("usage holds a count out of range")) }
        guard response.body.readableBytes <= maxBytes, (response.events?.byteCount ?? 0) <= maxBytes else {
            return .failure(Problem("larger than upstream.max_response_bytes (\(maxBytes) bytes)"))
        }
        guard let answer = response.body.withUnsafeReadableBytes({ try? JSONValue.parse($0) }) else {
            return .failure(Problem("the answer is not JSON"))
        }
        if let problem = response.body.withUnsafeReadableBytes({ shape.problem(in: $0) }) { return .failure(Problem("answer: \(problem)")) }
        if let events = response.events, let problem = recordingProblem(events, answer: answer, shape: shape) {
            return .failure(Problem(problem))
        }
        return .success(entry)
    }

    /// Why a creation and expiry time could not have been written by a live store, if so.
    package static func timesProblem(created: Double, expires: Double, now: Double) -> String? {
        guard created.isFinite, expires.isFinite, created >= earliest, created <= now + clockSkew, expires >= created else {
            return "created_at and expires_at are not plausible times (created first, not before 2020, not in the future)"
        }
        return nil
    }

    /// A recording must be what the route's own stream reader records: each event whole,
    /// the stream ended, the usage event where the reader puts it, and the events
    /// assembling into the stored answer.
    private func recordingProblem(_ events: RecordedStream, answer: JSONValue, shape: AnswerShape) -> String? {
        guard let dialect = shape.dialect else { return "this route's answers do not stream" }
        var recorder = StreamRecorder(limit: maxBytes, dialect: dialect)
        let relayed = recorder.feed(events.bytes)
        guard relayed.count == events.count else { return "the recorded events are not one stream's whole events" }
        guard case .complete(let replayed?, let assembled?, _) = recorder.end() else {
            return "the recorded events are not a whole stream this route's clients can read"
        }
        guard replayed == events else { return "the recorded events are not as this route's stream reader records them" }
        guard assembled == answer else { return "the recorded events do not assemble into the stored answer" }
        return nil
    }

    /// Why an entry may not be kept, in a sentence.
    package struct Problem: Error, Equatable, CustomStringConvertible {
        package let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The formats name their answers' shapes, so the map from shape to dialect sits here,
/// above both.
extension AnswerShape {
    /// How its answers stream, and so how a stored recording must read: nil for
    /// embeddings, which do not stream.
    var dialect: (any StreamDialect.Type)? {
        switch self {
        case .completion: OpenAIDialect.self
        case .embedding: nil
        case .message: AnthropicDialect.self
        case .response: ResponsesDialect.self
        }
    }
}
