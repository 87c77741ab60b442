import CachetteCore
import Hummingbird

/// `POST /v1/tokens/count`: `{model, messages | text}` → `{tokens, encoding, estimated}`,
/// counted locally with the exact tokenizer; never forwarded.
struct TokenCountEndpoint: Sendable {
    let maxBodyBytes: Int

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/v1/tokens/count") { request, context in try await respond(to: request, context: context) }
    }

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let body = try await BodyReader.read(request, limit: maxBodyBytes)
        guard let document = try? JSONValue.parse(body.readableBytesView), document.members != nil else {
            throw APIError(status: .badRequest, message: "The request body must be a JSON object.", code: "invalid_json")
        }
        guard let model = document["model"]?.stringValue, !model.isEmpty else {
            throw APIError(
                status: .badRequest, message: "You must provide a model parameter (a non-empty string).", code: "missing_model", param: "model")
        }
        let count: TokenCount
        do {
            if let messages = document["messages"]?.arrayValue {
                count = try TokenCounter.count(messages: messages, model: model)
            } else if let text = document["text"]?.stringValue {
                count = try TokenCounter.count(text: text, model: model)
            } else {
                throw APIError(
                    status: .badRequest, message: "Provide either messages (an array of chat messages) or text (a string).",
                    code: "missing_input", param: "messages"
                )
            }
        } catch let error as Vocabulary.LoadError {
            throw APIError(
                status: .internalServerError, message: "The tokenizer is unavailable: \(error).", type: "server_error", code: "tokenizer_unavailable")
        }
        return JSONResponse.make(
            .object([
                "tokens": .int(count.tokens),
                "encoding": .string(count.encoding.rawValue),
                "estimated": .bool(count.estimated),
            ]))
    }
}
