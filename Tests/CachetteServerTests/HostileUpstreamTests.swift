import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// An upstream can send anything. Whatever it sends, the sidecar keeps serving, the
/// client gets a clear answer, nothing wrong is stored and /stats stays sane.
@Suite("A hostile upstream: survive, answer, store nothing")
struct HostileUpstreamTests {
    static let huge = "1180591620717411303424"

    /// Non-streamed 2xx answers that must be relayed but never stored.
    static let badAnswers: [(String, FakeUpstream.Reply)] = [
        ("nested choices", .init(body: #"{"choices":[[["x"]]]}"#)),
        ("negative index and usage", .init(body: #"{"choices":[{"index":-5,"message":{"content":"x"}}],"usage":{"prompt_tokens":-3,"completion_tokens":-4}}"#)),
        ("usage past Int64", .init(body: #"{"choices":[{"index":0,"message":{"content":"x"}}],"usage":{"prompt_tokens":\#(huge),"completion_tokens":9223372036854775807}}"#)),
        ("choices null", .init(body: #"{"choices":null}"#)),
        ("choices without index", .init(body: #"{"choices":[{"message":{"content":"x"}}]}"#)),
        ("truncated JSON", .init(body: #"{"choices":[{"index":0,"message":{"content":"x"#)),
        ("HTML with 200", .init(body: "<html><body>Service Unavailable</body></html>", contentType: "text/html")),
        ("empty 200", .init(body: "")),
        ("invalid UTF-8", .init(bytes: Array(#"{"choices":[{"index":0,"message":{"content":""#.utf8) + [0xFF, 0xC3] + Array(#""}}]}"#.utf8))),
        ("an event stream to a non-stream request", .init(body: "data: {\"choices\":[{\"index\":0,\"delta\":{}}]}\n\ndata: [DONE]\n\n", contentType: "text/event-stream")),
        ("unrequested gzip", .init(body: "\u{1F}\u{8B}not really gzip", headers: ["Content-Encoding": "gzip"])),
        ("100,000 nested arrays", .init(body: #"{"choices":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}")),
    ]

    @Test("bad non-streamed answers are relayed once and never served as hits", arguments: badAnswers.map(\.0))
    func nonStreamed(name: String) async throws {
        let reply = try #require(Self.badAnswers.first { $0.0 == name }?.1)
        try await Harness.run { h in
            h.upstream.reply(reply)
            let first = try await h.post()
            #expect(first.status == .ok, "relayed as the upstream sent it")
            #expect(first.xCache == "MISS")
            let second = try await h.post()
            #expect(second.xCache == "MISS", "never stored")
            #expect(h.upstream.calls == 2)
            let stats = try await h.json("/stats")
            #expect(stats["refused"]?["invalid_answers"]?.intValue == 2)
            #expect(stats["cache"]?["entries"]?.intValue == 0)
            let input = stats["token_usage"]?["input"]?.intValue ?? -1
            #expect((0...(2 * TokenUsage.maxCount)).contains(input), "clamped, never negative")
            // Still serving: a good answer is stored and hit.
            h.upstream.reply(.init())
            _ = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"ok?"}]}"#)
            try await eventually { try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"ok?"}]}"#).xCache == "HIT" }
        }
    }

    static func chunk(_ choices: String, usage: String? = nil) -> FakeUpstream.Step {
        .data(#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[\#(choices)]\#(usage.map { #","usage":\#($0)"# } ?? "")}"#)
    }

    static let badStreams: [(String, [FakeUpstream.Step])] = [
        ("tool call index -1", [
            chunk(#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}}"#),
            chunk(#"{"index":0,"delta":{"tool_calls":[{"index":-1,"function":{"arguments":"x"}}]}}"#),
            chunk(#"{"index":0,"delta":{},"finish_reason":"tool_calls"}"#), .done,
        ]),
        ("usage past Int64", [chunk(#"{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}"#), chunk("", usage: #"{"prompt_tokens":\#(huge),"completion_tokens":-1}"#), .done]),
        ("choice without index", [chunk(#"{"delta":{"content":"lost"}}"#), chunk(#"{"index":0,"delta":{"content":"kept"},"finish_reason":"stop"}"#), .done]),
        ("non-JSON data", [.raw("data: this is not json\n\n"), chunk(#"{"index":0,"delta":{},"finish_reason":"stop"}"#), .done]),
        ("no [DONE]", [chunk(#"{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}"#)]),
        ("a 5 MB line", [.raw("data: " + String(repeating: "x", count: 5 << 20) + "\n\n"), .done]),
        ("cut mid-stream", [chunk(#"{"index":0,"delta":{"content":"hi"}}"#), .fail]),
        ("stalls past upstream.idle_timeout", [chunk(#"{"index":0,"delta":{"content":"hi"}}"#), .sleep(.seconds(5)), .done]),
        ("unrequested gzip", [.raw("data: \u{1F}\u{8B}\u{08}junk\n\n"), .done]),
    ]

    @Test("bad streams are relayed and never stored", arguments: badStreams.map(\.0))
    func streamed(name: String) async throws {
        let steps = try #require(Self.badStreams.first { $0.0 == name }?.1)
        try await Harness.run(configure: {
            $0.stream.maxBufferedBytes = 1 << 20
            $0.upstream.idleTimeout = .seconds(2)  // well under the stall, well over a busy machine's pauses
        }) { h in
            h.upstream.reply(.init(stream: steps, headers: name == "unrequested gzip" ? ["Content-Encoding": "gzip"] : [:]))
            let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}"#
            for _ in 0..<2 {
                let response = try await HTTPClient.shared.execute(h.clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: body))), timeout: .seconds(30))
                #expect(response.status == .ok)
                #expect(response.headers["x-cache"].first == "MISS")
                _ = try? await response.body.collect(upTo: 16 << 20)
            }
            #expect(h.upstream.calls == 2, "nothing was stored")
            let stats = try await h.json("/stats")
            #expect(stats["cache"]?["entries"]?.intValue == 0)
            #expect((0...(2 * TokenUsage.maxCount)).contains(stats["token_usage"]?["input"]?.intValue ?? -1))
            #expect(try await h.get("/health").status == .ok)
        }
    }

    @Test("a translated 2xx that is not a message is a 502 upstream_invalid_response, not stored")
    func untranslatable() async throws {
        try await Harness.run(configure: { config in
            config.upstreams = [.init(name: "anthropic", baseURL: config.upstream.baseURL, format: .anthropic, models: ["claude-*"])]
        }) { h in
            h.upstream.reply(.init(body: #"{"choices":[{"index":0}]}"#))
            let body = #"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}"#
            let response = try await h.post("/v1/chat/completions", body)
            #expect(response.status == .badGateway)
            #expect(response.text.contains("upstream_invalid_response"))
            #expect(try await h.post("/v1/chat/completions", body).status == .badGateway)
            #expect(h.upstream.calls == 2, "never stored")
        }
    }
}

@Suite("Bounded resources")
struct BoundedResourceTests {
    @Test("a model name over 256 bytes or with control characters is a 400 invalid_model", arguments: [
        String(repeating: "m", count: 1 << 20), "gpt-4o\\u0000", "gpt\\n4o", String(repeating: "m", count: 257),
    ])
    func badModelNames(model: String) async throws {
        try await Harness.run { h in
            let response = try await h.post("/v1/chat/completions", #"{"model":"\#(model)","messages":[]}"#)
            #expect(response.status == .badRequest)
            #expect(response.text.contains("invalid_model"))
            #expect(h.upstream.calls == 0)
            #expect(try await h.get("/stats").body.readableBytes < 4096)
        }
    }

    @Test("per-model rows stop at accounting.max_models; later names are booked as other")
    func maxModels() async throws {
        try await Harness.run(configure: { $0.accounting.maxModels = 3 }) { h in
            for i in 0..<6 {
                _ = try await h.post("/v1/chat/completions", #"{"model":"model-\#(i)","messages":[{"role":"user","content":"hi"}]}"#)
            }
            let models = try await h.json("/stats")["models"]?.members?.map(\.key) ?? []
            #expect(models == ["model-0", "model-1", "model-2", "other"])
            #expect(try await h.json("/stats")["models"]?["other"]?["requests"]?.intValue == 3)
        }
    }

    @Test("a passthrough body over server.max_passthrough_bytes is a 413, declared or chunked, and never reaches the upstream whole")
    func passthroughLimit() async throws {
        try await Harness.run(configure: { $0.server.maxPassthroughBytes = 4096 }) { h in
            let big = String(repeating: "x", count: 8192)
            let declared = try await h.post("/v1/files", big, headers: [.contentType: "multipart/form-data; boundary=b"])
            #expect(declared.status == .contentTooLarge && declared.text.contains("server.max_passthrough_bytes"))
            #expect(h.upstream.calls(to: "/v1/files") == 0)
            var request = h.clientRequest("/v1/files", .stream([ByteBuffer(string: String(big.prefix(3000))), ByteBuffer(string: String(big.dropFirst(3000)))].async, length: .unknown))
            request.headers.replaceOrAdd(name: "content-type", value: "multipart/form-data; boundary=b")
            let chunked = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(chunked.status.code >= 400)
            #expect(h.upstream.calls(to: "/v1/files") == 0 || h.upstream.lastBody.utf8.count <= 4096)
            let small = try await h.post("/v1/files", "small upload", headers: [.contentType: "multipart/form-data; boundary=b"])
            #expect(small.status == .ok)
        }
    }

    @Test("past server.max_connections a connection is closed at once; a slot frees when one closes")
    func maxConnections() async throws {
        try await Harness.run(configure: { $0.server.maxConnections = 2 }) { h in
            let probe = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            func probeAnswered() async throws -> Bool {
                let socket = try RawSocket(port: h.port, raw: probe)
                defer { socket.close() }
                return await socket.readToEnd().hasPrefix("HTTP/1.1 200")
            }
            // Two connections certainly open: the test client's (a request made it), and a
            // stream the fake upstream holds after its first event.
            #expect(try await h.post().status == .ok)
            var holding = h.clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: #"{"model":"gpt-4o","messages":[{"role":"user","content":"hold"}],"stream":true}"#)))
            holding.headers.add(name: "connection", value: "close")
            let held = try await HTTPClient.shared.execute(holding, timeout: .seconds(30))
            var events = held.body.makeAsyncIterator()
            _ = try await events.next()
            #expect(try await !probeAnswered(), "a third connection is closed without an answer")
            // The held stream ends and its connection closes: the slot is free again.
            h.upstream.releaseStreams()
            while try await events.next() != nil {}
            var served = false
            for _ in 0..<50 where !served {
                served = try await probeAnswered()
                if !served { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(served, "the held connection's slot is free again")
        }
    }

    @Test("a half-sent request is closed after server.read_timeout")
    func readTimeout() async throws {
        try await Harness.run(configure: { $0.server.readTimeout = .seconds(1) }) { h in
            let started = ContinuousClock.now
            let head = try RawSocket(port: h.port, raw: "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            _ = await head.readToEnd()
            head.close()
            let body = try RawSocket(port: h.port, raw: "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"mo")
            _ = await body.readToEnd()
            body.close()
            #expect(ContinuousClock.now - started < .seconds(20), "both connections were closed by the server")
            // A client that sends its request promptly is served (the test client's own idle connection was closed too).
            let response = try await HTTPClient.shared.execute(h.clientRequest(), timeout: .seconds(10))
            #expect(response.status.code == 200)
        }
    }
}

/// stale-if-error (RFC 5861): an expired answer beats an upstream failure.
@Suite("Stale answers when the upstream fails")
struct StaleIfErrorTests {
    /// Stores the answer with a 1 s TTL and waits until it has expired.
    static func expire(_ h: Harness, wait: Duration = .milliseconds(1100)) async throws {
        let first = try await h.post("/v1/chat/completions", Harness.chatBody, headers: [HTTPField.Name("x-cachette-ttl")!: "1"])
        #expect(first.xCache == "MISS")
        try await Task.sleep(for: wait)
    }

    @Test("a 5xx, a 429, a timeout or an unreachable upstream gets the expired answer with X-Cache: STALE and Age", arguments: [500, 503, 429, 0])
    func servedStale(status: Int) async throws {
        // A timeout a busy machine meets for the healthy first answer, and a delay well past it.
        try await Harness.run(configure: { $0.upstream.timeout = .seconds(2) }) { h in
            try await Self.expire(h)
            if status == 0 {
                h.upstream.reply(.init(delay: .seconds(4)))  // past upstream.timeout
            } else {
                h.upstream.reply(.init(status: status, body: #"{"error":{"message":"down"}}"#))
            }
            let stale = try await h.post()
            #expect(stale.status == .ok)
            #expect(stale.xCache == "STALE")
            #expect(Int(stale.headers[.age] ?? "") ?? 0 >= 1)
            #expect(stale.text.contains("answer number 1"))
            let stats = try await h.json("/stats")
            #expect(stats["stale"]?.intValue == 1)
            #expect(String(buffer: try await h.get("/metrics").body).contains("cachette_stale_served_total 1"))
            // A stream request gets the stale answer as a stream.
            let streamed = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}],"temperature":0.2,"stream":true}"#)
            #expect(streamed.xCache == "STALE" && streamed.text.contains("data: [DONE]"))
            h.upstream.releaseStreams()  // the fake's default stream, reached after the delay, waits for this
        }
    }

    @Test("stale-if-error=0 turns it off; without a failure a fresh answer replaces the expired one")
    func controls() async throws {
        try await Harness.run { h in
            try await Self.expire(h)
            h.upstream.reply(.init(status: 500, body: #"{"error":{"message":"down"}}"#))
            let off = try await h.post("/v1/chat/completions", Harness.chatBody, headers: [.cacheControl: "stale-if-error=0"])
            #expect(off.status == .internalServerError)
            let bad = try await h.post("/v1/chat/completions", Harness.chatBody, headers: [.cacheControl: "stale-if-error=soon"])
            #expect(bad.status == .badRequest)
            h.upstream.reply(.init())
            let fresh = try await h.post()
            #expect(fresh.xCache == "MISS" && fresh.status == .ok)
        }
    }

    @Test("past the stale window the failure comes back as it is")
    func windowOver() async throws {
        try await Harness.run(configure: { $0.cache.staleIfError = .milliseconds(200) }) { h in
            try await Self.expire(h, wait: .milliseconds(1600))
            h.upstream.reply(.init(status: 502, body: #"{"error":{"message":"down"}}"#))
            #expect(try await h.post().status == .badGateway)
        }
    }
}

/// The same, for an Anthropic upstream: on `/v1/messages` natively, and through the
/// translation of OpenAI chat. Each case is tried streamed and not.
@Suite("A hostile Anthropic upstream, natively and through translation")
struct HostileAnthropicTests {
    static let huge = HostileUpstreamTests.huge
    static let nativeBody = #"{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"Say hello"}]}"#
    static let chatBody = #"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"Say hello"}]}"#

    static let badAnswers: [(String, FakeUpstream.Reply)] = [
        ("no content", .init(body: #"{"id":"m","type":"message","role":"assistant"}"#)),
        ("negative and huge usage", .init(body: #"{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"x"}],"usage":{"input_tokens":-5,"output_tokens":\#(huge)}}"#)),
        ("not a message", .init(body: #"{"type":"completion","completion":"x"}"#)),
        ("truncated JSON", .init(body: #"{"id":"m","type":"message","content":[{"type":"text","text":"x"#)),
        ("HTML with 200", .init(body: "<html>busy</html>", contentType: "text/html")),
        ("empty 200", .init(body: "")),
        ("invalid UTF-8", .init(bytes: Array(#"{"type":"message","content":[{"type":"text","text":""#.utf8) + [0xFE] + Array(#""}]}"#.utf8))),
        ("unrequested gzip", .init(body: "\u{1F}\u{8B}junk", headers: ["Content-Encoding": "gzip"])),
        ("100,000 nested arrays", .init(body: #"{"type":"message","content":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}")),
    ]

    static func events(_ middle: [FakeUpstream.Step], stop: Bool = true) -> [FakeUpstream.Step] {
        let start: FakeUpstream.Step = .event("message_start", #"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6","usage":{"input_tokens":3,"output_tokens":1}}}"#)
        let block: FakeUpstream.Step = .event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        let end: [FakeUpstream.Step] = [
            .event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            .event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#),
        ] + (stop ? [.event("message_stop", #"{"type":"message_stop"}"#)] : [])
        return [start, block] + middle + end
    }

    static let badStreams: [(String, [FakeUpstream.Step])] = [
        ("delta for block -1", events([.event("content_block_delta", #"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}"#)])),
        ("usage past Int64", events([.event("message_delta", #"{"type":"message_delta","delta":{},"usage":{"output_tokens":\#(huge)}}"#)])),
        ("negative usage", events([.event("message_delta", #"{"type":"message_delta","delta":{},"usage":{"output_tokens":-3}}"#)])),
        ("non-JSON data", events([.raw("event: content_block_delta\ndata: {not json\n\n")])),
        ("no message_stop", events([.event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}"#)], stop: false)),
        ("a 5 MB line", events([.raw("data: " + String(repeating: "y", count: 5 << 20) + "\n\n")])),
        ("cut mid-stream", Array(events([]).prefix(2)) + [.fail]),
    ]

    static func routed(_ config: inout CachetteConfig) {
        AnthropicMessagesTests.routed(&config)
        config.stream.maxBufferedBytes = 1 << 20
    }

    @Test("bad whole answers: relayed (natively) or a 502 (translated), never stored", arguments: badAnswers.map(\.0))
    func wholeAnswers(name: String) async throws {
        let reply = try #require(Self.badAnswers.first { $0.0 == name }?.1)
        try await Harness.run(configure: Self.routed) { h in
            h.upstream.reply(reply)
            for _ in 0..<2 {
                let native = try await h.post("/v1/messages", Self.nativeBody, headers: AnthropicMessagesTests.headers)
                #expect(native.status == .ok && native.xCache == "MISS")
                let translated = try await h.post("/v1/chat/completions", Self.chatBody)
                #expect(translated.status == .badGateway)
                #expect(translated.text.contains("upstream_invalid_response"))
            }
            #expect(h.upstream.calls == 4, "nothing stored")
            let stats = try await h.json("/stats")
            #expect(stats["cache"]?["entries"]?.intValue == 0)
            #expect((0...(4 * TokenUsage.maxCount)).contains(stats["token_usage"]?["input"]?.intValue ?? -1))
        }
    }

    @Test("bad streams: relayed, natively and translated, never stored", arguments: badStreams.map(\.0))
    func streams(name: String) async throws {
        let steps = try #require(Self.badStreams.first { $0.0 == name }?.1)
        try await Harness.run(configure: Self.routed) { h in
            h.upstream.reply(.init(stream: steps))
            let native = Self.nativeBody.replacingOccurrences(of: #""max_tokens":64"#, with: #""max_tokens":64,"stream":true"#)
            let chat = Self.chatBody.replacingOccurrences(of: #""messages""#, with: #""stream":true,"messages""#)
            for _ in 0..<2 {
                var request = h.clientRequest("/v1/messages", .bytes(ByteBuffer(string: native)))
                request.headers.replaceOrAdd(name: "x-api-key", value: "sk-ant-test")
                let first = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                #expect(first.status == .ok && first.headers["x-cache"].first == "MISS")
                _ = try? await first.body.collect(upTo: 16 << 20)
                let second = try await HTTPClient.shared.execute(h.clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: chat))), timeout: .seconds(30))
                #expect(second.status == .ok && second.headers["x-cache"].first == "MISS")
                _ = try? await second.body.collect(upTo: 16 << 20)
            }
            #expect(h.upstream.calls == 4, "nothing stored")
            #expect(try await h.json("/stats")["cache"]?["entries"]?.intValue == 0)
            #expect(try await h.get("/health").status == .ok)
        }
    }
}
