/// Which request fields make up the cache key.
public enum KeyFields: String, Sendable, CaseIterable {
    /// Everything that can change the answer (all fields but the volatile ones).
    case all
    /// Only the model and the prompt (TokenPak's behaviour): sampling settings are ignored.
    case prompt
}

/// What the keyer learned about a request on its single pass over the body.
public struct KeyedRequest: Sendable {
    public let key: CacheKey
    public let model: String
    public let stream: Bool
    /// `stream_options.include_usage`: whether this client wants the usage chunk.
    package let includeUsage: Bool
    /// `background: true` (Responses): the answer is a queued status, never cached.
    package let background: Bool
}

/// Computes the cache key of a JSON request body in one pass: it validates the body,
/// writes its canonical form after a route/credential prefix, and hashes that once.
public struct RequestKeyer: Sendable {
    /// Fields that never change the answer: delivery, bookkeeping and billing options.
    public static let volatileFields: [String] = ["stream", "stream_options", "metadata", "user", "store", "service_tier"]
    /// The same for `/v1/responses`, where `store` stays: a cached answer carries the
    /// original response id, which a later `previous_response_id` can name upstream
    /// only if the original was stored there.
    package static let responsesVolatileFields: [String] = [
        "stream", "stream_options", "metadata", "user", "safety_identifier", "prompt_cache_key", "service_tier",
    ]
    /// The fields `key_fields: prompt` keeps: the model and everything that is the prompt.
    package static let promptFields: [String] = [
        "model", "messages", "prompt", "input", "system", "instructions", "previous_response_id", "conversation",
    ]

    package var keyFields: KeyFields
    /// System texts left out of the key (Claude Code's billing header, `cache.key_ignore`).
    package let ignore: KeyIgnore

    /// Where the route's requests name their model (its format's `APIProvider.model`).
    package let modelLocation: ModelLocation

    private let dropped: [[UInt8]]
    private let kept: [[UInt8]]
    /// The body member that names the model, with its quotes; nil when the path names it.
    private let modelKey: [UInt8]?

    /// - Parameter volatileFields: the route's fields that never change its answer.
    public init(
        keyFields: KeyFields = .all, volatileFields: [String] = RequestKeyer.volatileFields, ignore: KeyIgnore = KeyIgnore(),
        model: ModelLocation = .body(member: "model")
    ) {
        self.keyFields = keyFields
        self.ignore = ignore
        self.modelLocation = model
        if case .body(let member) = model { self.modelKey = Array("\"\(member)\"".utf8) } else { self.modelKey = nil }
        // Compared against canonical keys, which carry their quotes.
        self.dropped = volatileFields.map { Array("\"\($0)\"".utf8) }
        self.kept = Self.promptFields.map { Array("\"\($0)\"".utf8) }
    }

    private static let streamKey = Array("\"stream\"".utf8)
    private static let streamOptionsKey = Array("\"stream_options\"".utf8)
    private static let backgroundKey = Array("\"background\"".utf8)
    private static let trueBytes = Array("true".utf8)

    /// - Parameters:
    ///   - route: the request path; different endpoints never share entries. Where the
    ///     format names its model in the path, the model is read from here.
    ///   - scope: the credential (or "" when entries are shared). Hashed, never stored.
    ///   - body: the raw request body.
    public func key(route: String, scope: String, body: UnsafeRawBufferPointer) throws(InvalidRequest) -> KeyedRequest {
        var prefix: [UInt8] = []
        prefix.reserveCapacity(route.utf8.count + scope.utf8.count + body.count + 2)
        prefix.append(contentsOf: route.utf8)
        prefix.append(0)
        prefix.append(contentsOf: scope.utf8)
        prefix.append(0)
        var writer = CanonicalJSONWriter(lexer: JSONLexer(body.bindMemory(to: UInt8.self)), output: prefix)
        var model: String?
        var stream = false
        var includeUsage = false
        var background = false
        do {
            writer.lexer.skipWhitespace()
            guard writer.lexer.peek() == UInt8(ascii: "{") else {
                if writer.lexer.atEnd { throw InvalidRequest("The request body is empty; expected a JSON object.", code: "invalid_json") }
                _ = try CanonicalJSONWriter.canonicalize(body)  // a precise syntax error beats "not an object"
                throw InvalidRequest("The request body must be a JSON object.", code: "invalid_request_body")
            }
            var object = try writer.beginObject()
            while try writer.nextMember(&object) {
                let member = writer.beginMember(object)
                try writer.writeKeyAndValue(depth: 1)
                let name = writer.currentKey(member)
                if let modelKey, name.elementsEqual(modelKey) {
                    model = decodeString(writer.output[(writer.currentKeyEnd + 1)...])
                } else if name.elementsEqual(Self.streamKey) {
                    stream = writer.output[(writer.currentKeyEnd + 1)...].elementsEqual(Self.trueBytes)
                } else if name.elementsEqual(Self.streamOptionsKey) {
                    let options = try? JSONValue.parse(writer.output[(writer.currentKeyEnd + 1)...])
                    includeUsage = options?["include_usage"] == .bool(true)
                } else if name.elementsEqual(Self.backgroundKey) {
                    background = writer.output[(writer.currentKeyEnd + 1)...].elementsEqual(Self.trueBytes)
                }
                if isKept(name) {
                    let valueStart = writer.currentKeyEnd + 1
                    if let stripped = ignore.stripped(member: name, value: writer.output[valueStart...]) {
                        writer.output.replaceSubrange(valueStart..., with: stripped)
                    }
                    writer.endMember(member)
                } else {
                    writer.dropMember(member)
                }
            }
            writer.endObject(object)
            writer.lexer.skipWhitespace()
            guard writer.lexer.atEnd else { throw writer.lexer.error("unexpected data after the JSON object") }
        } catch let error as JSONError {
            throw InvalidRequest("The request body is not valid JSON: \(error).", code: "invalid_json")
        } catch let error as InvalidRequest {
            throw error
        } catch {
            throw InvalidRequest("The request body could not be read.", code: "invalid_json")
        }
        if modelKey == nil { model = modelLocation.model(inPath: route) }
        guard let model, !model.isEmpty else {
            throw InvalidRequest("You must provide a model parameter (a non-empty string).", code: "missing_model", param: "model")
        }
        if let invalid = ModelName.problem(model) { throw invalid }
        return KeyedRequest(
            key: CacheKey(hashing: writer.output), model: model, stream: stream, includeUsage: includeUsage, background: background)
    }

    public func key(route: String, scope: String, body: [UInt8]) throws(InvalidRequest) -> KeyedRequest {
        try body.withUnsafeBytes { raw in Result { () throws(InvalidRequest) in try key(route: route, scope: scope, body: raw) } }.get()
    }

    private func isKept(_ name: ArraySlice<UInt8>) -> Bool {
        switch keyFields {
        case .all: !dropped.contains(where: { name.elementsEqual($0) })
        case .prompt: kept.contains(where: { name.elementsEqual($0) })
        }
    }

    /// The model from its canonical JSON; nil if it is not a string.
    private func decodeString(_ canonical: ArraySlice<UInt8>) -> String? {
        guard canonical.first == UInt8(ascii: "\""), canonical.count >= 2 else { return nil }
        let inner = canonical.dropFirst().dropLast()
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONValue.parse(canonical))?.stringValue
    }
}
