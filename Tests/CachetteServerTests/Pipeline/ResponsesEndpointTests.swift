import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import NIOCore
import Testing

@Suite("OpenAI's Responses API, /v1/responses")
struct ResponsesEndpointTests {
    static let body = #"{"model":"gpt-4o","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Say hello"}]}]}"#
    static let streamBody = body.replacingOccurrences(of: #""model":"gpt-4o""#, with: #""model":"gpt-4o","stream":true"#)

    static func with(_ field: String) -> String {
        body.replacingOccurrences(of: #""model":"gpt-4o""#, with: #""model":"gpt-4o",\#(field)"#)
    }

    @Test("responses.create twice: a MISS, then a HIT equal to it; volatile fields do not matter, store does")
    func cached() async throws {
        try await Harness.run { h in
            let miss = try await h.post("/v1/responses", Self.body)
            expectCache(miss, "MISS")
            #expect(try JSONValue.parse(miss.text)["id"]?.stringValue == "resp_1")
            let hit = try await h.post(
                "/v1/responses", Self.with(#""user":"u2","metadata":{"a":"b"},"safety_identifier":"s","prompt_cache_key":"k","service_tier":"flex""#))
            expectCache(hit, "HIT")
            #expect(hit.text == miss.text)
            #expect(h.upstream.calls(to: "/v1/responses") == 1)
            expectCache(try await h.post("/v1/responses", Self.with(#""store":false"#)), "MISS")
            expectCache(try await h.post("/v1/responses", Self.with(#""previous_response_id":"resp_1""#)), "MISS")
            #expect(h.upstream.calls(to: "/v1/responses") == 3)
        }
    }

    @Test("usage is booked as Responses reports it: cached input and reasoning output counted, at the table's prices")
    func usage() async throws {
        try await Harness.run { h in
            expectCache(try await h.post("/v1/responses", Self.body), "MISS")
            expectCache(try await h.post("/v1/responses", Self.body), "HIT")
            try await eventually { try await h.json("/stats")["models"]?["gpt-4o"]?["requests"]?.intValue == 2 }
            let model = try #require(try await h.json("/stats")["models"]?["gpt-4o"])
            #expect(model["input_tokens"]?.intValue == 40, "one upstream call: input_tokens already hold the cached ones")
            #expect(model["cached_input_tokens"]?.intValue == 30)
            #expect(model["output_tokens"]?.intValue == 9, "reasoning tokens are output")
            // gpt-4o: $2.50 in, $1.25 cached, $10 out per million.
            let spent = try #require(model["spent_usd"]?.doubleValue)
            #expect(abs(spent - (10 * 2.5 + 30 * 1.25 + 9 * 10) / 1e6) < 1e-12, "\(spent)")
            let saved = try #require(model["saved_usd"]?.doubleValue)
            #expect(abs(saved - (40 * 2.5 + 9 * 10) / 1e6) < 1e-12, "a hit saves its tokens at list prices, as on every route: \(saved)")
        }
    }

    @Test("a stream is recorded and replayed byte for byte; no usage option is sent; a non-stream request gets its completed response")
    func streamReplay() async throws {
        try await Harness.run { h in
            let miss = try await h.stream(Self.streamBody, path: "/v1/responses")
            #expect(miss.xCache == "MISS" && miss.contentType == "text/event-stream")
            #expect(miss.events.first?.name == "response.created" && miss.events.last?.name == "response.completed")
            #expect(!h.upstream.lastBody.contains("stream_options"), "Responses refuses stream_options.include_usage")
            let hit = try await h.stream(Self.streamBody, path: "/v1/responses")
            #expect(hit.xCache == "HIT")
            #expect(hit.text == miss.text, "byte for byte, the same event boundaries")
            let whole = try await h.post("/v1/responses", Self.body)
            expectCache(whole, "HIT")
            let completed = try #require(miss.events.last.map { try JSONValue.parse($0.data) })
            #expect(try JSONValue.parse(whole.text) == completed["response"])
            #expect(h.upstream.calls(to: "/v1/responses") == 1)
        }
    }

    @Test("a stored response answers a stream request with synthesized events, numbered from 0 without a gap")
    func synthesizedStream() async throws {
        try await Harness.run { h in
            let whole = try await h.post("/v1/responses", Self.body)
            expectCache(whole, "MISS")
            let streamed = try await h.stream(Self.streamBody, path: "/v1/responses")
            #expect(streamed.xCache == "HIT" && streamed.contentType == "text/event-stream")
            let events = try streamed.events.map { try JSONValue.parse($0.data) }
            #expect(events.map { $0["sequence_number"]?.intValue } == Array(0..<events.count).map(Optional.some))
            #expect(streamed.events.map(\.name) == events.map { $0["type"]?.stringValue })
            #expect(events.last?["response"] == (try JSONValue.parse(whole.text)))
            let text = events.filter { $0["type"]?.stringValue == "response.output_text.delta" }.compactMap { $0["delta"]?.stringValue }.joined()
            #expect(text == "answer number 1")
            #expect(h.upstream.calls(to: "/v1/responses") == 1)
        }
    }

    @Test("a response that is not completed is relayed and never stored", arguments: ["incomplete", "failed", "in_progress", "queued"])
    func notCompleted(status: String) async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(body: FakeUpstream.response(call: 1, status: status)))
        try await Harness.run(upstream: upstream) { h in
            let first = try await h.post("/v1/responses", Self.body)
            expectCache(first, "MISS")
            #expect(first.text.contains(#""status":"\#(status)""#))
            expectCache(try await h.post("/v1/responses", Self.body), "MISS")
            #expect(upstream.calls(to: "/v1/responses") == 2)
            #expect(try await h.statsValue("refused", "invalid_answers") == 2)
        }
    }

    @Test("a stream that ends failed, incomplete, with an error event or cut short is relayed and never stored")
    func streamNotCompleted() async throws {
        let endings: [[FakeUpstream.Step]] = [
            FakeUpstream.responseStream(call: 1, end: "response.failed"),
            FakeUpstream.responseStream(call: 1, end: "response.incomplete"),
            Array(FakeUpstream.responseStream(call: 1).dropLast()) + [
                .event("error", #"{"type":"error","sequence_number":7,"code":"server_error","message":"boom","param":null}"#)
            ],
            Array(FakeUpstream.responseStream(call: 1).dropLast()),
            Array(FakeUpstream.responseStream(call: 1).prefix(3)) + [.fail],
        ]
        for (n, steps) in endings.enumerated() {
            let upstream = FakeUpstream()
            upstream.reply(.init(stream: steps))
            try await Harness.run(upstream: upstream) { h in
                let first = try await h.stream(Self.streamBody, path: "/v1/responses")
                #expect(first.xCache == "MISS")
                #expect(first.events.last?.name != "response.completed", "ending \(n)")
                if n >= 3 {
                    let error = try JSONValue.parse(try #require(first.events.last).data)
                    #expect(
                        first.events.last?.name == "error" && error["code"]?.stringValue == "upstream_stream_failed",
                        "a cut stream ends with an error event")
                }
                #expect(try await h.stream(Self.streamBody, path: "/v1/responses").xCache == "MISS", "ending \(n) was not stored")
                #expect(upstream.calls(to: "/v1/responses") == 2)
            }
        }
    }

    @Test("background: true is forwarded every time and never stored")
    func background() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(body: FakeUpstream.response(call: 1, status: "queued")))
        try await Harness.run(upstream: upstream) { h in
            for _ in 0..<2 { expectCache(try await h.post("/v1/responses", Self.with(#""background":true"#)), "BYPASS") }
            #expect(upstream.calls(to: "/v1/responses") == 2)
            #expect(try await h.statsValue("refused", "invalid_answers") == 0, "not even looked at for storing")
        }
        try await Harness.run(upstream: upstream, configure: { $0.cache.mode = .offline }) { h in
            let refused = try await h.post("/v1/responses", Self.with(#""background":true"#))
            #expect(refused.status == .serviceUnavailable && refused.text.contains(#""code":"offline""#), "offline: no upstream call")
            #expect(upstream.calls(to: "/v1/responses") == 2)
        }
    }

    @Test("a model routed to an Anthropic upstream is refused with unsupported_upstream_format, naming the upstream")
    func anthropicUpstream() async throws {
        try await Harness.run(configure: AnthropicMessagesTests.routed) { h in
            let refused = try await h.post("/v1/responses", #"{"model":"claude-sonnet-4-6","input":"Hi"}"#)
            #expect(refused.status == .badRequest)
            let error = try JSONValue.parse(refused.text)["error"]
            #expect(error?["code"]?.stringValue == "unsupported_upstream_format")
            #expect(error?["message"]?.stringValue?.contains(#"upstream "anthropic""#) == true)
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("GET, DELETE, cancel and input_items go to the upstream that made the response; an unknown id to the default")
    func aboutAResponse() async throws {
        try await Harness.run(configure: { config in
            // The fake serves gpt-*; the default upstream is a closed port.
            config.upstreams = [
                .init(name: "fake", baseURL: config.upstream.baseURL, models: ["gpt-*"]), .init(name: "default", baseURL: "http://127.0.0.1:9/v1"),
            ]
        }) { h in
            // Ownership is per credential: the client asks about its response with its key.
            let key: HTTPFields = [.authorization: "Bearer sk-test-one"]
            expectCache(try await h.post("/v1/responses", Self.body), "MISS")
            let got = try await h.get("/v1/responses/resp_1", headers: key)
            #expect(got.status == .ok && got.text.contains("GET /v1/responses/resp_1"))
            expectCache(got, "BYPASS")
            #expect(try await h.get("/v1/responses/resp_1/input_items?limit=5", headers: key).text.contains("GET /v1/responses/resp_1/input_items"))
            let cancelled = try await h.client.execute(
                uri: "/v1/responses/resp_1/cancel", method: .post, headers: [.authorization: "Bearer sk-test-one"])
            #expect(cancelled.status == .ok && String(buffer: cancelled.body).contains("POST /v1/responses/resp_1/cancel"))
            let deleted = try await h.client.execute(uri: "/v1/responses/resp_1", method: .delete, headers: [.authorization: "Bearer sk-test-one"])
            #expect(String(buffer: deleted.body).contains("DELETE /v1/responses/resp_1"))
            #expect(try await h.get("/v1/responses/resp_unknown", headers: key).status == .badGateway, "the default upstream, which is down")
            // A streamed answer's id is learned too.
            _ = try await h.stream(Self.streamBody.replacingOccurrences(of: "Say hello", with: "Say bye"), path: "/v1/responses")
            #expect(try await h.get("/v1/responses/resp_6", headers: key).status == .ok)
            #expect(
                try await h.get("/v1/responses/resp_6", headers: [.authorization: "Bearer sk-test-two"]).status == .badGateway,
                "another credential's request about it goes to the default upstream")
        }
    }

    @Test("an upstream that answers with an id another upstream made does not get that id's requests, nor the key they carry")
    func hostileOwner() async throws {
        try await Harness.run(configure: { config in
            let base = config.upstream.baseURL
            config.upstreams = [
                .init(name: "fake", baseURL: base, models: ["gpt-*"]),
                // The same fake under another name: which one a request reached shows in its authority.
                .init(name: "hostile", baseURL: base.replacingOccurrences(of: "127.0.0.1", with: "localhost"), models: ["llama*"]),
                .init(name: "default", baseURL: "http://127.0.0.1:9/v1"),
            ]
        }) { h in
            let victim: HTTPFields = [.authorization: "Bearer sk-victim"]
            expectCache(try await h.post("/v1/responses", Self.body, headers: victim), "MISS")  // resp_1, from "fake"
            // From now on every answer is resp_1: the hostile upstream repeats the victim's id,
            // to the victim itself and to another tenant.
            h.upstream.reply(.init(body: FakeUpstream.response(call: 1)))
            let llama = Self.body.replacingOccurrences(of: "gpt-4o", with: "llama3")
            expectCache(try await h.post("/v1/responses", llama, headers: victim), "MISS")
            expectCache(try await h.post("/v1/responses", llama, headers: [.authorization: "Bearer sk-attacker"]), "MISS")
            let got = try await h.get("/v1/responses/resp_1", headers: victim)
            #expect(got.status == .ok)
            let asked = try #require(h.upstream.seen.last)
            #expect(asked.path == "/v1/responses/resp_1")
            #expect(asked.authority.hasPrefix("127.0.0.1"), "went to \(asked.authority), not the upstream that made resp_1")
        }
    }

    @Test("safe compression rewrites input text and function outputs, never the instructions")
    func compression() async throws {
        let document = (1...40).map { "Clause \($0) of the agreement applies." }.joined(separator: " ")
        let body = """
            {"model":"gpt-4o","instructions":"Be   brief.","input":[{"role":"user","content":[{"type":"input_text","text":"\(document)"}]},\
            {"type":"function_call_output","call_id":"c","output":"\(document)"}]}
            """
        try await Harness.run { h in
            let miss = try await h.post("/v1/responses", body)
            expectCache(miss, "MISS")
            #expect(Int(miss.headers[HTTPField.Name("x-cachette-tokens-saved")!] ?? "") ?? 0 > 300)
            let sent = try JSONValue.parse(h.upstream.lastBody)
            #expect(sent["instructions"]?.stringValue == "Be   brief.")
            #expect(sent["input"]?.arrayValue?[1]["output"]?.stringValue == "[Same text as in message 2 above.]")
            #expect(sent["input"]?.arrayValue?[0]["content"] == (try JSONValue.parse(body))["input"]?.arrayValue?[0]["content"])
            expectCache(try await h.post("/v1/responses", body), "HIT")
        }
    }

    @Test("a stream, a late stream joiner and a whole request for the same body share one upstream call")
    func crossModeFlight() async throws {
        let upstream = FakeUpstream()
        let steps = FakeUpstream.responseStream(call: 1)
        upstream.reply(.init(stream: Array(steps.prefix(3)) + [.wait] + steps.dropFirst(3)))
        try await Harness.run(upstream: upstream) { h in
            async let streamed = h.stream(Self.streamBody, path: "/v1/responses")
            try await eventually { upstream.calls(to: "/v1/responses") == 1 }
            // Joins after three events went by: it still gets every event from the first.
            async let joined = h.stream(Self.streamBody, path: "/v1/responses")
            var request = h.clientRequest("/v1/responses", .bytes(ByteBuffer(string: Self.body)))
            request.headers.replaceOrAdd(name: "authorization", value: "Bearer sk-test-one")
            async let whole = HTTPClient.shared.execute(request, timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(100))
            upstream.releaseStreams()
            let (s, j, w) = try await (streamed, joined, whole)
            #expect(s.xCache == "MISS" && j.xCache == "HIT")
            #expect(j.text == s.text && s.events.last?.name == "response.completed", "the joiner got the same bytes, from the first event")
            #expect(w.headers.first(name: "x-cache") == "HIT")
            let body = try await w.body.collect(upTo: 1 << 20)
            #expect(try JSONValue.parse(body.readableBytesView)["status"]?.stringValue == "completed")
            #expect(upstream.calls(to: "/v1/responses") == 1)
        }
    }
}
