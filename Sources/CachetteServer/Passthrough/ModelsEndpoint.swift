import AsyncHTTPClient
import CachetteCore
import Foundation
import Hummingbird
import NIOCore

/// `GET /v1/models`: the model lists of every upstream that answers, merged into one
/// OpenAI-shaped list in the order of `upstreams` (Anthropic's entries converted). An
/// id listed twice is taken from the upstream its requests are routed to, else from
/// the first that lists it; a converted entry is `owned_by` that upstream. The client's
/// credential is sent only to the default upstream; the others are asked with their
/// own `api_key`, or none. `GET /v1/models/{id}` goes to the upstream that serves that
/// model.
struct ModelsEndpoint: Sendable {
    let router: UpstreamRouter
    let relay: Relay

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/models") { request, context in try await list(request, context: context) }
        router.get("/v1/models/**") { request, context in try await one(request, context: context) }
    }

    func list(_ request: Request, context: some RequestContext) async throws -> Response {
        // One upstream: its answer as it is, streamed.
        guard router.upstreams.count > 1 else {
            let upstream = router.upstreams[0]
            return try await relay.relay(relay.client.makeRequest(request, upstream: upstream, body: nil), to: upstream)
        }
        if relay.offline { return relay.answer(APIError.offline(path: request.uri.path), .rejected, since: .now) }
        let started = ContinuousClock.now
        let upstreams = router.distinct
        let answers = await withTaskGroup(of: (Int, Result<UpstreamAnswer, APIError>).self) { [relay] group in
            let fallback = router.fallback.name
            for (index, upstream) in upstreams.enumerated() {
                group.addTask {
                    // The client's key goes only where its requests go by default; other
                    // upstreams are asked with their own key, or none (a local server).
                    let outgoing = relay.client.makeRequest(request, upstream: upstream, body: nil, clientCredential: upstream.name == fallback)
                    do throws(APIError) {
                        return (index, .success(try await relay.client.fetch(outgoing, upstream: upstream, logger: relay.logger)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results: [(Int, Result<UpstreamAnswer, APIError>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var lists: [(upstream: CachetteConfig.Upstream, entries: [JSONValue])] = []
        for (upstream, result) in zip(upstreams, answers) {
            guard case .success(let answer) = result, answer.isSuccess,
                let list = try? JSONValue.parse(answer.body.readableBytesView),
                let data = list[upstream.format.provider.modelList.member]?.arrayValue
            else {
                relay.logger.debug("an upstream did not list its models", metadata: ["upstream": "\(upstream.name)"])
                continue
            }
            lists.append((upstream, data))
        }
        guard !lists.isEmpty else {
            // Nobody answered: the first upstream's own answer (or failure) tells the client why.
            switch answers[0] {
            case .success(let answer):
                relay.book(.error, since: started)
                var headers = answer.headers
                headers[CachetteHeaders.xCache] = RequestOutcome.error.xCache
                return Response(status: answer.status, headers: headers, body: .init(byteBuffer: answer.body))
            case .failure(let error):
                return relay.answer(error, .error, since: started)
            }
        }
        let models = merged(lists)
        relay.book(.bypass, since: started)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[CachetteHeaders.xCache] = RequestOutcome.bypass.xCache
        let body = JSONValue.object(["object": .string("list"), "data": .array(models)]).serialized()
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The lists as one, each id once: from the upstream its requests go to when that one
    /// lists it, else from the first that does.
    func merged(_ lists: [(upstream: CachetteConfig.Upstream, entries: [JSONValue])]) -> [JSONValue] {
        var listedBy: [String: Set<String>] = [:]  // id → base URLs that list it
        for (upstream, entries) in lists {
            let idMember = upstream.format.provider.modelList.id
            for entry in entries { if let id = entry[idMember]?.stringValue { listedBy[id, default: []].insert(upstream.baseURL) } }
        }
        var seen: Set<String> = []
        var models: [JSONValue] = []
        for (upstream, entries) in lists {
            for entry in entries {
                guard let id = entry[upstream.format.provider.modelList.id]?.stringValue, !seen.contains(id) else { continue }
                let server = try? router.upstream(for: id, path: "/v1/models/\(id)", format: nil)
                if let server, server.baseURL != upstream.baseURL, listedBy[id]?.contains(server.baseURL) == true { continue }
                let model = Self.openAIModel(entry, id: id, owner: server?.name ?? upstream.name)
                seen.insert(id)
                models.append(model)
            }
        }
        return models
    }

    /// `GET /v1/models/{id}`, relayed to the upstream that serves `id`.
    func one(_ request: Request, context: some RequestContext) async throws -> Response {
        let id = String(request.uri.path.dropFirst("/v1/models/".count))
        return try await relay.relay { () throws(APIError) in
            let upstream = try router.upstream(for: id.removingPercentEncoding ?? id, path: request.uri.path, format: nil)
            return (relay.client.makeRequest(request, upstream: upstream, body: nil), upstream)
        }
    }

    /// An OpenAI model object; Anthropic's (`type: model`, `display_name`, `created_at`) converted.
    static func openAIModel(_ entry: JSONValue, id: String, owner: String) -> JSONValue {
        if entry["object"]?.stringValue == "model" { return entry }
        var created = 0
        if let stamp = entry["created_at"]?.stringValue {
            created = Int(saturating: ISO8601DateFormatter().date(from: stamp)?.timeIntervalSince1970 ?? 0)
        }
        return .object(["id": .string(id), "object": .string("model"), "created": .number(String(created)), "owned_by": .string(owner)])
    }
}
