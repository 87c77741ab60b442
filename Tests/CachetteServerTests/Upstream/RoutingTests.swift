@testable import CachetteServer
import CachetteCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Routing: upstreams by model")
struct RoutingTests {
    @Test("the first matching route wins, the default takes the rest, and no match without a default is a 404")
    func matching() throws {
        var config = CachetteConfig()
        config.upstreams = [
            .init(name: "anthropic", baseURL: "http://a/v1", format: .anthropic, models: ["claude-*"]),
            .init(name: "local", baseURL: "http://l/v1", models: ["llama*", "qwen*", "claude-local"]),
            .init(name: "default", baseURL: "http://d/v1"),
            .init(name: "late", baseURL: "http://x/v1", models: ["gpt-4o"]),
        ]
        func route(_ model: String) -> String? { CachetteConfig.upstream(for: model, in: config.resolvedUpstreams)?.name }
        #expect(route("claude-sonnet-4-6") == "anthropic")
        #expect(route("claude-local") == "anthropic", "first match wins")
        #expect(route("llama3.1:8b") == "local")
        #expect(route("gpt-4o") == "late", "a pattern beats the default wherever the default is listed")
        #expect(route("gpt-4o-mini") == "default")
        config.upstreams.removeAll { $0.isDefault }
        #expect(route("mistral-large") == nil)
        // No table: one default route from upstream.base_url.
        #expect(CachetteConfig().resolvedUpstreams.map(\.name) == ["default"])
    }

    @Test("upstreams in YAML: fields, env keys, headers, and the mistakes named")
    func yaml() throws {
        var config = CachetteConfig()
        try ConfigLoader.apply(
            yaml: """
                upstreams:
                  - name: anthropic
                    base_url: https://api.anthropic.com/v1
                    format: anthropic
                    models: ["claude-*"]
                    api_key: env:ROUTE_TEST_KEY
                    timeout: 90s
                    headers: {anthropic-beta: "prompt-caching-2024-07-31"}
                  - name: default
                    base_url: https://api.openai.com/v1
                """, to: &config, environment: ["ROUTE_TEST_KEY": "sk-ant-x"])
        let first = try #require(config.upstreams.first)
        #expect(first.format == .anthropic && first.models == ["claude-*"] && first.apiKey == "sk-ant-x" && first.timeout == .seconds(90))
        #expect(first.headers == [.init(name: "anthropic-beta", value: "prompt-caching-2024-07-31")])
        #expect(config.resolvedUpstreams.map(\.name) == ["anthropic", "default"])
        for (yaml, key) in [
            ("upstreams:\n  - name: a\n    base_url: http://x/v1", "upstreams.a.models"),
            ("upstreams:\n  - name: default\n    base_url: http://x/v1\n    models: [a]", "upstreams.default.models"),
            ("upstreams:\n  - name: a\n    base_url: ftp://x\n    models: [a]", "upstreams.a.base_url"),
            ("upstreams:\n  - name: a\n    base_url: http://x/v1\n    models: [a]\n    format: grpc", "upstreams.a.format"),
            ("upstreams:\n  - base_url: http://x/v1", "upstreams[0]"),
            ("upstreams: {a: 1}", "upstreams"),
            ("upstreams:\n  - name: a\n    base_url: https://me:sk-hidden@x/v1\n    models: [a]", "upstreams.a.base_url"),
        ] {
            var scratch = CachetteConfig()
            #expect(throws: ConfigError.self, "\(key)") { try ConfigLoader.apply(yaml: yaml, to: &scratch) }
            do { try ConfigLoader.apply(yaml: yaml, to: &scratch) } catch {
                #expect(error.key == key, "\(error)")
                #expect(!"\(error)".contains("sk-hidden"), "a refused URL's password is not echoed")
            }
        }
        var withUser = CachetteConfig()
        withUser.upstream.baseURL = "http://sk-hidden@x/v1"
        #expect { try ConfigLoader.validate(withUser) } throws: { "\($0)".contains("upstream.base_url") && !"\($0)".contains("sk-hidden") }
        // --upstream replaces the whole table.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("routes-\(UUID().uuidString).yaml").path
        try "upstreams:\n  - name: default\n    base_url: http://file/v1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let overridden = try ConfigLoader.load(file: file, environment: [:], overrides: .init(upstream: "http://flag/v1"))
        #expect(overridden.resolvedUpstreams.map(\.baseURL) == ["http://flag/v1"])
    }

    static let localModels = #"{"object":"list","data":[{"id":"llama3","object":"model"},{"id":"gpt-4o","object":"model"}]}"#

    /// A `local` upstream for llama* with a key and a header of its own, and the default.
    static func localAndDefault(_ local: some TestClientProtocol) -> @Sendable (inout CachetteConfig) -> Void {
        let localURL = "http://127.0.0.1:\(local.port ?? 0)/v1"
        return { config in
            let defaultURL = config.upstream.baseURL
            var route = CachetteConfig.Upstream(name: "local", baseURL: localURL, models: ["llama*"], apiKey: "sk-local")
            route.headers = [.init(name: "x-route", value: "local")]
            config.upstreams = [route, .init(name: "default", baseURL: defaultURL)]
        }
    }

    @Test("cached requests go to the upstream their model routes to, with its key and headers")
    func forwarding() async throws {
        let local = FakeUpstream(modelList: Self.localModels)
        try await local.application.test(.live) { localClient in
            try await Harness.run(configure: Self.localAndDefault(localClient)) { h in
                let llama = #"{"model":"llama3","messages":[{"role":"user","content":"hi"}]}"#
                expectCache(try await h.post("/v1/chat/completions", llama), "MISS")
                #expect(local.calls(to: "/v1/chat/completions") == 1 && h.upstream.calls == 0)
                #expect(local.lastHeaders[.authorization] == "Bearer sk-local", "the route's key replaces the client's")
                #expect(local.lastHeaders[HTTPField.Name("x-route")!] == "local")
                expectCache(try await h.post("/v1/chat/completions", llama), "HIT")
                _ = try await h.post()
                #expect(h.upstream.calls(to: "/v1/chat/completions") == 1 && local.calls == 1)
                #expect(h.upstream.lastHeaders[.authorization] == "Bearer sk-test-one", "the default route passes the client's key")
            }
        }
    }

    @Test("/v1/models merges every upstream's list, and /v1/models/{id} goes to the upstream that serves it")
    func modelsMerge() async throws {
        let local = FakeUpstream(modelList: Self.localModels)
        try await local.application.test(.live) { localClient in
            try await Harness.run(configure: Self.localAndDefault(localClient)) { h in
                let models = try JSONValue.parse(try await h.get("/v1/models", headers: [.authorization: "Bearer sk-test-one"]).text)
                #expect(models["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["llama3", "gpt-4o"])
                #expect(local.calls(to: "/v1/models") == 1 && h.upstream.calls(to: "/v1/models") == 1)
                #expect(local.lastHeaders[.authorization] == "Bearer sk-local" && h.upstream.lastHeaders[.authorization] == "Bearer sk-test-one")
                let one = try await h.json("/v1/models/llama3")
                #expect(one["id"]?.stringValue == "llama3" && local.calls(to: "/v1/models/llama3") == 1)
            }
        }
    }

    @Test("other JSON POSTs follow their model too, and one without a model goes to the default")
    func passthroughFollowsModel() async throws {
        let local = FakeUpstream(modelList: Self.localModels)
        try await local.application.test(.live) { localClient in
            try await Harness.run(configure: Self.localAndDefault(localClient)) { h in
                let routed = try await h.post("/v1/files", #"{"model":"llama3","purpose":"fine-tune"}"#)
                #expect(routed.status == .ok && routed.xCache == "BYPASS")
                #expect(local.calls(to: "/v1/files") == 1 && h.upstream.calls(to: "/v1/files") == 0)
                #expect(local.lastHeaders[.authorization] == "Bearer sk-local" && local.lastBody.contains("fine-tune"))
                _ = try await h.post("/v1/files", #"{"purpose":"fine-tune"}"#)
                #expect(h.upstream.calls(to: "/v1/files") == 1 && local.calls(to: "/v1/files") == 1)
            }
        }
    }

    /// No default: the first route takes requests without a model; one upstream is down.
    static func unroutedConfig(_ config: inout CachetteConfig) {
        config.upstreams = [
            .init(name: "down", baseURL: "http://127.0.0.1:9/v1", models: ["llama*"]),
            .init(name: "openai", baseURL: config.upstream.baseURL, models: ["gpt-*"]),
            .init(name: "claude", baseURL: config.upstream.baseURL, format: .anthropic, models: ["claude-*"]),
        ]
    }

    @Test("a model no upstream serves is a 404 in OpenAI's shape, on cached and passthrough paths")
    func unrouted() async throws {
        try await Harness.run(configure: Self.unroutedConfig) { h in
            let response = try await h.post("/v1/chat/completions", #"{"model":"mistral-large","messages":[]}"#)
            #expect(response.status == .notFound)
            let error = try JSONValue.parse(response.text)["error"]
            #expect(error?["code"]?.stringValue == "model_not_found" && error?["param"]?.stringValue == "model")
            let otherPost = try await h.post("/v1/files", #"{"model":"mistral-large"}"#)
            #expect(otherPost.status == .notFound && otherPost.text.contains("model_not_found"))
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("a text completion for a model behind an Anthropic-format upstream is refused, naming it")
    func untranslatableRoute() async throws {
        try await Harness.run(configure: Self.unroutedConfig) { h in
            let claude = try await h.post("/v1/completions", #"{"model":"claude-sonnet-4-6","prompt":"Hi"}"#)
            #expect(claude.status == .badRequest && claude.text.contains("unsupported_upstream_format") && claude.text.contains("claude"))
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("/v1/models lists what answers, and sends the client's key only to the default upstream")
    func modelsWhatAnswers() async throws {
        try await Harness.run(configure: Self.unroutedConfig) { h in
            let models = try JSONValue.parse(try await h.get("/v1/models", headers: [.authorization: "Bearer sk-test-one"]).text)
            #expect(models["data"]?.arrayValue?.count == 1, "the upstream that is down is left out")
            let unrouted = try await h.post("/v1/files", #"{"model":"mistral-large"}"#)
            #expect(unrouted.status == .notFound && unrouted.xCache == "REJECTED", "a passthrough refusal says so too")
            #expect(h.upstream.lastHeaders[.authorization] == nil, "no key of its own and not the default: the client's key is not sent there")
        }
    }

    @Test("/v1/models sends no upstream but the default the client's ?key=, Authorization or any cache.credential_headers header")
    func modelsKeepCredentials() async throws {
        try await Harness.run(configure: { config in
            let base = config.upstream.baseURL
            config.cache.credentialHeaders = ["x-org-key"]
            config.upstreams = [
                .init(name: "other", baseURL: base.replacingOccurrences(of: "127.0.0.1", with: "localhost"), models: ["llama*"]),
                .init(name: "default", baseURL: base),
            ]
        }) { h in
            let headers: HTTPFields = [.authorization: "Bearer sk-secret-one", HTTPField.Name("x-org-key")!: "sk-secret-two"]
            let response = try await h.get("/v1/models?key=sk-secret-three", headers: headers)
            #expect(response.status == .ok)
            let asked = h.upstream.seen.filter { $0.path == "/v1/models" }
            #expect(asked.count == 2, "both upstreams were asked")
            for request in asked {
                let carried = request.query + request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                if request.authority.hasPrefix("localhost") {
                    #expect(!carried.contains("sk-secret"), "the other upstream got \(carried)")
                } else {
                    #expect(carried.contains("sk-secret-one") && carried.contains("sk-secret-two") && carried.contains("sk-secret-three"))
                }
            }
        }
    }

    @Test("a base_url without a version path is warned about at start-up; one with it is not")
    func versionlessBaseURL() async throws {
        let logs = LogCapture()
        try await Harness.run(
            logs: logs,
            configure: { config in
                config.upstreams = [
                    .init(name: "bare", baseURL: "http://127.0.0.1:9", models: ["llama*"]),
                    .init(name: "default", baseURL: config.upstream.baseURL),
                ]
            }
        ) { _ in }
        let warnings = logs.all.split(separator: "\n").filter { $0.contains("no version path") }
        #expect(warnings.count == 1 && warnings[0].contains("bare"), "\(logs.all)")
    }

    @Test("/v1/models is the same list on every call: upstreams in order, an id listed twice taken from the upstream that serves it")
    func modelsDeterministic() async throws {
        // The default upstream (a gateway, say) lists a Claude model too; claude-* routes to the Anthropic upstream.
        let gateway = FakeUpstream(
            modelList: #"""
                {"object":"list","data":[{"id":"gpt-4o","object":"model","created":1,"owned_by":"openai"},
                {"type":"model","id":"claude-sonnet-4-6","display_name":"Claude Sonnet 4.6","created_at":"2025-02-19T00:00:00Z"}]}
                """#)
        let anthropic = FakeUpstream(
            modelList: #"""
                {"data":[{"type":"model","id":"claude-haiku-4-5","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"},
                {"type":"model","id":"claude-sonnet-4-6","display_name":"Claude Sonnet 4.6","created_at":"2025-02-19T00:00:00Z"}],"has_more":false}
                """#)
        try await anthropic.application.test(.live) { second in
            try await Harness.run(
                upstream: gateway,
                configure: { config in
                    config.upstreams = [
                        .init(name: "default", baseURL: config.upstream.baseURL),
                        .init(name: "claude", baseURL: "http://127.0.0.1:\(second.port!)/v1", format: .anthropic, models: ["claude-*"]),
                    ]
                }
            ) { h in
                var lists: Set<String> = []
                for _ in 0..<9 {
                    let response = try await h.get("/v1/models", headers: [.authorization: "Bearer sk-test-one"])
                    #expect(response.status == .ok)
                    lists.insert(response.text)
                }
                #expect(lists.count == 1, "one list, whatever order the upstreams answer in: \(lists)")
                let data = try #require(try JSONValue.parse(lists.first ?? "")["data"]?.arrayValue)
                let owners = data.map { "\($0["id"]?.stringValue ?? "?")=\($0["owned_by"]?.stringValue ?? "?")" }
                #expect(owners == ["gpt-4o=openai", "claude-haiku-4-5=claude", "claude-sonnet-4-6=claude"])
            }
        }
    }

    @Test("Anthropic model entries become OpenAI model objects")
    func anthropicModels() throws {
        let entry = try JSONValue.parse(
            #"{"type":"model","id":"claude-sonnet-4-6","display_name":"Claude Sonnet 4.6","created_at":"2025-02-19T00:00:00Z"}"#)
        let model = ModelsEndpoint.openAIModel(entry, id: "claude-sonnet-4-6", owner: "anthropic")
        #expect(
            model
                == .object([
                    "id": .string("claude-sonnet-4-6"), "object": .string("model"), "created": .number("1739923200"),
                    "owned_by": .string("anthropic"),
                ]))
    }
}
