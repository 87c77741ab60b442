import CachetteCore

/// Answers "which upstream": by the request's model (the first entry whose patterns
/// match it, else `default`), in the format the request speaks, for cached routes,
/// passthrough and `/v1/models` alike.
struct UpstreamRouter: Sendable {
    /// `upstreams:` in force, tried in order.
    let upstreams: [CachetteConfig.Upstream]

    init(_ upstreams: [CachetteConfig.Upstream]) {
        precondition(!upstreams.isEmpty, "the configuration always has an upstream")
        self.upstreams = upstreams
    }

    /// The upstream for `model`; one that speaks `format` (nil: any), as a request to `path` must.
    func upstream(for model: String, path: String, format: APIFormat? = .openai) throws(APIError) -> CachetteConfig.Upstream {
        guard let upstream = CachetteConfig.upstream(for: model, in: upstreams) else { throw APIError.noRoute(model: model) }
        guard format == nil || upstream.format == format else { throw APIError.needsTranslation(route: upstream.name, path: path) }
        return upstream
    }

    /// Where a cached request for `model` goes, and whether it is translated on the way.
    func exchange(for model: String, route: CachedRoute) throws(APIError) -> UpstreamExchange {
        let upstream = try upstream(for: model, path: route.path, format: nil)
        guard upstream.format != route.format else { return UpstreamExchange(upstream: upstream, translation: nil) }
        guard route.translatable, let translation = FormatTranslation.between(client: route.format, upstream: upstream.format) else {
            throw APIError.needsTranslation(route: upstream.name, path: route.path)
        }
        return UpstreamExchange(upstream: upstream, translation: translation)
    }

    /// Where a request that names no model may go: only where a key of any provider
    /// may be sent, the `default` upstream (a format's own paths, `APIProvider.ownPaths`:
    /// the first upstream of that format).
    func modelless(path: String) throws(APIError) -> CachetteConfig.Upstream {
        if let format = APIFormat.owning(path), let owner = upstreams.first(where: { $0.format == format }) { return owner }
        guard let upstream = upstreams.first(where: \.isDefault) else {
            throw APIError(
                status: .badRequest,
                message:
                    "\(path) requests that name no model go only to the upstream named default, and there is none. Add an upstreams entry named default, or send a JSON body with a model.",
                code: "no_default_upstream"
            )
        }
        return upstream
    }

    /// Who owns models no upstream lists, in `/v1/models`, and the one upstream a
    /// client's credential goes to when every upstream is asked: `default`, else the first.
    var fallback: CachetteConfig.Upstream { upstreams.first(where: \.isDefault) ?? upstreams[0] }

    /// Each upstream once, even when several entries share a base URL.
    var distinct: [CachetteConfig.Upstream] {
        var seen: Set<String> = []
        return upstreams.filter { seen.insert($0.baseURL).inserted }
    }
}
