import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Forwarding to the upstream")
struct ForwardingTests {
    @Test("a non-2xx answer goes back verbatim and is never stored")
    func errorsAreRelayedNotStored() async throws {
        let upstream = FakeUpstream()
        let errorBody = #"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
        upstream.reply(.init(status: 429, body: errorBody))
        try await Harness.run(upstream: upstream) { h in
            let first = try await h.post()
            #expect(first.status == .tooManyRequests)
            #expect(first.text == errorBody)
            // Booked as an error, and X-Cache says so (it said MISS).
            #expect(first.xCache == "ERROR")
            try await expectCache(h.post(), "ERROR")
            #expect(upstream.calls == 2)
            upstream.reply(.init())
            try await expectCache(h.post(), "MISS")
            try await expectCache(h.post(), "HIT")
            let stats = try await h.json("/stats")
            #expect(stats["upstream_errors"]?.intValue == 2)
        }
    }

    @Test("GET /v1/models and other /v1 paths are forwarded and never cached")
    func passthrough() async throws {
        try await Harness.run { h in
            let first = try await h.get("/v1/models")
            #expect(first.status == .ok)
            #expect(first.text.contains("gpt-4o"))
            #expect(first.xCache == "BYPASS")
            _ = try await h.get("/v1/models")
            #expect(h.upstream.calls(to: "/v1/models") == 2)
            // A path the fake upstream does not know comes back as the upstream's 404.
            let unknown = try await h.get("/v1/files/file-123")
            #expect(unknown.status == .notFound)
        }
    }

    @Test("the client's credential passes through, hop-by-hop and x-cachette headers do not")
    func requestHeaders() async throws {
        try await Harness.run { h in
            // AsyncHTTPClient, because the test client rewrites Connection.
            var request = HTTPClientRequest(url: h.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.headers = [
                "authorization": "Bearer sk-pass-through",
                "connection": "keep-alive, x-private-hop",
                "x-private-hop": "1",
                "x-cachette-ttl": "60",
                "openai-organization": "org-1",
                "accept-encoding": "gzip",
                "keep-alive": "timeout=5",
            ]
            request.body = .bytes(ByteBuffer(string: Harness.chatBody))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            let seen = h.upstream.lastHeaders
            #expect(seen[.authorization] == "Bearer sk-pass-through")
            #expect(seen[HTTPField.Name("openai-organization")!] == "org-1")
            #expect(seen[HTTPField.Name("x-private-hop")!] == nil)
            #expect(seen[HTTPField.Name("x-cachette-ttl")!] == nil)
            #expect(seen[.acceptEncoding] == nil)
            #expect(seen[HTTPField.Name("keep-alive")!] == nil)
            #expect(h.upstream.lastBody == Harness.chatBody)
        }
    }

    @Test("upstream.api_key replaces the client's credential")
    func configuredKey() async throws {
        try await Harness.run(configure: { $0.upstream.apiKey = "sk-from-config" }) { h in
            _ = try await h.post(headers: [.authorization: "Bearer sk-client"])
            #expect(h.upstream.lastHeaders[.authorization] == "Bearer sk-from-config")
        }
    }

    @Test("an upstream that refuses connections gives a 502 upstream_refused in OpenAI's shape, and the server keeps serving")
    func connectFailure() async throws {
        try await Harness.run(upstreamURL: "http://127.0.0.1:1/v1") { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let error = try JSONValue.parse(response.body.readableBytesView)["error"]
            #expect(error?["type"]?.stringValue == "upstream_error")
            #expect(error?["code"]?.stringValue == "upstream_refused")
            #expect(error?["message"]?.stringValue == "127.0.0.1 refused the connection; check the upstream's base_url and port.")
            #expect(try await h.get("/health").status == .ok)
            #expect(try await h.post().status == .badGateway)
            #expect(try await h.json("/stats")["upstream_errors"]?.intValue == 2)
        }
    }

    @Test("a name that does not resolve gives a 502 upstream_dns naming it")
    func dnsFailure() async throws {
        try await Harness.run(upstreamURL: "http://no-such-upstream.invalid/v1") { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let error = try JSONValue.parse(response.body.readableBytesView)["error"]
            #expect(error?["code"]?.stringValue == "upstream_dns")
            #expect(error?["message"]?.stringValue == "The name no-such-upstream.invalid could not be resolved.")
        }
    }

    @Test("an answer over upstream.max_response_bytes is a 502 upstream_response_too_large, not 'unreachable'")
    func tooLarge() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(body: #"{"padding":""# + String(repeating: "x", count: 4096) + #""}"#))
        try await Harness.run(upstream: upstream, configure: { $0.upstream.maxResponseBytes = 1024 }) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let error = try JSONValue.parse(response.body.readableBytesView)["error"]
            #expect(error?["code"]?.stringValue == "upstream_response_too_large")
            #expect(error?["message"]?.stringValue?.hasSuffix("larger than upstream.max_response_bytes (1024 bytes).") == true)
        }
    }

    @Test("an upstream slower than upstream.timeout gives a 504 upstream_read_timeout, and nothing is stored")
    func upstreamTimeout() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(delay: .seconds(6)))
        // Long enough that the prompt answer afterwards fits in it on a busy machine.
        try await Harness.run(upstream: upstream, configure: { $0.upstream.timeout = .seconds(3) }) { h in
            try await Self.expectTimedOut(
                h, try await h.post(), code: "upstream_read_timeout", message: "127.0.0.1 did not answer within upstream.timeout (3 s).")
        }
    }

    /// A 504 with `code` and `message`; the upstream then answers, and nothing was stored in between.
    static func expectTimedOut(_ h: Harness, _ response: TestResponse, code: String, message: String) async throws {
        #expect(response.status == .gatewayTimeout)
        let error = try JSONValue.parse(response.body.readableBytesView)["error"]
        #expect(error?["code"]?.stringValue == code)
        #expect(error?["message"]?.stringValue == message)
        h.upstream.reply(.init())
        try await expectCache(h.post(), "MISS")
    }

    @Test("upstream.timeout, not idle_timeout, bounds the wait for the response head: a slow head within it is answered")
    func headWaitIsTheTimeout() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(delay: .seconds(3)))
        try await Harness.run(
            upstream: upstream,
            configure: {
                $0.upstream.timeout = .seconds(30)
                $0.upstream.idleTimeout = .seconds(1)
            }
        ) { h in
            let response = try await h.post()
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.xCache == "MISS")
        }
    }

    /// A sidecar whose upstream falls silent for 9 s mid-body, with idle_timeout 2 s and timeout 60 s.
    static func withSilentBody(_ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(pauseMidBody: .seconds(9)))
        try await Harness.run(
            upstream: upstream,
            configure: {
                $0.upstream.timeout = .seconds(60)
                $0.upstream.idleTimeout = .seconds(2)
            }, body)
    }

    @Test("a whole answer that falls silent for idle_timeout after its head is a 504 upstream_idle_timeout, and nothing is stored")
    func silentBodyIsIdle() async throws {
        try await Self.withSilentBody { h in
            // Waited out, the pause ends in a whole 200: the 504 is the cut, with no clock
            // read that a loaded machine could fail.
            let response = try await h.post()
            try await Self.expectTimedOut(
                h, response, code: "upstream_idle_timeout", message: "127.0.0.1 sent nothing for upstream.idle_timeout (2 s).")
        }
    }

    @Test("a passthrough answer that falls silent for idle_timeout is cut there, not left open for upstream.timeout")
    func silentPassthroughIsCut() async throws {
        try await Self.withSilentBody { h in
            var request = h.clientRequest("/v1/files", .bytes(ByteBuffer(string: "{}")))
            request.headers.replaceOrAdd(name: "content-type", value: "application/json")
            let whole = #"{"id":"file-1","object":"file"}"#
            var received = ""
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok && response.headers.first(name: "x-cache") == "BYPASS")
                received = String(buffer: try await response.body.collect(upTo: 1 << 20))
            } catch {
                // The head was sent: a cut body is all a client can be told.
            }
            // Waited out, the pause ends in the whole body.
            #expect(received != whole, "cut at idle_timeout, not at the upstream's 9 s pause")
        }
    }

    @Test("a stream is relayed event by event as it arrives, not buffered")
    func streamIsRelayedLive() async throws {
        try await Harness.run { h in
            let request = h.clientRequest(
                "/v1/chat/completions", .bytes(ByteBuffer(string: #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            #expect(response.headers.first(name: "x-cache") == "MISS")
            var iterator = response.body.makeAsyncIterator()
            var received = ""
            // The upstream holds its second event until we release it, so the first must arrive alone.
            while !received.contains("first") {
                guard let chunk = try await iterator.next() else { break }
                received += String(buffer: chunk)
            }
            #expect(received.contains("first"))
            #expect(!received.contains("second"))
            h.upstream.releaseStreams()
            while let chunk = try await iterator.next() { received += String(buffer: chunk) }
            #expect(received.contains("second"))
            #expect(received.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test("timeouts of 10^12 seconds (a config that means 'never') schedule without a trap and the request is answered")
    func hugeTimeouts() async throws {
        try await Harness.run(configure: { config in
            config.upstream.timeout = .seconds(1_000_000_000_000)
            config.upstream.idleTimeout = .seconds(1_000_000_000_000)
            config.upstream.connectTimeout = .seconds(1_000_000_000_000)
            config.server.idleTimeout = .seconds(1_000_000_000_000)
        }) { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
        }
    }
}
