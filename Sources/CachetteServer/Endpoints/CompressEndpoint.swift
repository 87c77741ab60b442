import CachetteCore
import Hummingbird

/// `POST /v1/compress`: the contract of LiteLLM's `headroom` guardrail. `{messages, model,
/// level?}` → the same messages compressed, one for one with their roles, and
/// `tokens_before`, `tokens_after`, `tokens_saved`, `compression_ratio` (after ÷ before)
/// and `transforms_applied`, counted with our tokenizer for the model. Never forwarded.
///
/// LiteLLM sends only the rows it lets a service touch and puts the answers back by
/// position among the rows it held back, so no message here may refer to another:
/// duplicate references are off (`CompressionOptions.references`).
struct CompressEndpoint: Sendable {
    /// The `route` of these requests in the ledger and /metrics.
    static let route = "compress"

    let compression: CompressionOptions
    let accounting: Accounting
    let maxBodyBytes: Int

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/v1/compress") { request, _ in try await respond(to: request) }
    }

    func respond(to request: Request) async throws -> Response {
        let started = ContinuousClock.now
        var model = ""
        do {
            let body = try await BodyReader.read(request, limit: maxBodyBytes)
            guard let document = try? JSONValue.parse(body.readableBytesView), document.members != nil else {
                throw APIError(status: .badRequest, message: "The request body must be a JSON object.", code: "invalid_json")
            }
            let (messages, named, level) = try Self.input(document, defaultLevel: compression.level)
            model = named
            var options = compression
            options.level = level
            options.references = false
            let tokenizer: Tokenizer
            do {
                tokenizer = try Tokenizer.shared(TokenEncoding.forModel(model).encoding)
            } catch {
                throw APIError(
                    status: .internalServerError, message: "The tokenizer is unavailable: \(error).", type: "server_error",
                    code: "tokenizer_unavailable")
            }
            let (rewritten, report) = PromptCompressor(options: options, tokenizer: tokenizer).compress(messages: messages)
            let tally = report.tally
            let elapsed = ContinuousClock.now - started
            accounting.record(
                BookedRequest(route: Self.route, model: model, outcome: .local, compression: tally, latency: elapsed))
            accounting.duration(route: Self.route, elapsed)
            return JSONResponse.make(
                .object([
                    "messages": .array(tally.saved > 0 ? rewritten : messages),
                    "tokens_before": .int(tally.before),
                    "tokens_after": .int(tally.after),
                    "tokens_saved": .int(tally.saved),
                    "compression_ratio": .double(tally.before > 0 ? Double(tally.after) / Double(tally.before) : 1),
                    "transforms_applied": .array(report.transforms.names.map { .string($0) }),
                ]))
        } catch let error as APIError {
            accounting.record(BookedRequest(route: Self.route, model: model, outcome: .rejected, latency: ContinuousClock.now - started))
            throw error
        }
    }

    /// The messages (objects with a string role), the model (empty when none was named)
    /// and the level, or the 400 that says what is wrong.
    static func input(
        _ document: JSONValue, defaultLevel: CompressionLevel
    ) throws(APIError) -> (messages: [JSONValue], model: String, level: CompressionLevel) {
        guard let messages = document["messages"]?.arrayValue,
            messages.allSatisfy({ $0.members != nil && $0["role"]?.stringValue != nil })
        else {
            throw APIError(
                status: .badRequest, message: "messages must be an array of chat messages, each an object with a string role.",
                code: "invalid_messages", param: "messages")
        }
        var model = ""
        if let value = document["model"], value != .null {
            guard let name = value.stringValue else {
                throw APIError(status: .badRequest, message: "model must be a string.", code: "invalid_model", param: "model")
            }
            // Booked under this name, in the ledger and as a metrics label: held to the cached routes' rules.
            if let invalid = ModelName.problem(name) { throw APIError.badRequest(invalid) }
            model = name
        }
        var level = defaultLevel
        if let value = document["level"], value != .null {
            guard let name = value.stringValue, let named = CompressionLevel(rawValue: name) else {
                throw APIError(
                    status: .badRequest,
                    message: "level must be one of \(CompressionLevel.allCases.map(\.rawValue).joined(separator: ", ")).",
                    code: "invalid_level", param: "level")
            }
            level = named
        }
        return (messages, model, level)
    }
}
