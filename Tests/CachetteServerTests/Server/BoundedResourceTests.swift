import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Bounded resources")
struct BoundedResourceTests {
    @Test(
        "a model name over 256 bytes or with control characters is a 400 invalid_model",
        arguments: [
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

    @Test("per-model rows stop at accounting.max_models, later names booked as other")
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
            var request = h.clientRequest(
                "/v1/files",
                .stream([ByteBuffer(string: String(big.prefix(3000))), ByteBuffer(string: String(big.dropFirst(3000)))].async, length: .unknown))
            request.headers.replaceOrAdd(name: "content-type", value: "multipart/form-data; boundary=b")
            let chunked = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(chunked.status.code >= 400)
            #expect(h.upstream.calls(to: "/v1/files") == 0 || h.upstream.lastBody.utf8.count <= 4096)
            let small = try await h.post("/v1/files", "small upload", headers: [.contentType: "multipart/form-data; boundary=b"])
            #expect(small.status == .ok)
        }
    }

    @Test("past server.max_connections a connection is closed at once, until a slot frees")
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
            var holding = h.clientRequest(
                "/v1/chat/completions", .bytes(ByteBuffer(string: #"{"model":"gpt-4o","messages":[{"role":"user","content":"hold"}],"stream":true}"#))
            )
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

    @Test(
        "a kept-alive connection outlives server.read_timeout while each request comes in time; a stalled body is closed",
        .timeLimit(.minutes(1)))
    func readTimeoutKeptAlive() async throws {
        try await Harness.run(configure: { $0.server.readTimeout = .seconds(2) }) { h in
            let head =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Authorization: Bearer sk-test-one\r\nContent-Length: \(Harness.chatBody.utf8.count)\r\n\r\n"
            let end = #""total_tokens":18}}"#
            /// A kept-alive connection's second request, its head sent 1.5 s after the opening
            /// (before the connection's first deadline falls due) and its body 1 s later, or never.
            @Sendable func secondRequest(sendsBody: Bool) async throws -> (answer: String, waited: Duration) {
                let opened = ContinuousClock.now
                let socket = try RawSocket(port: h.port, raw: head + Harness.chatBody)
                defer { socket.close() }
                #expect(await socket.read(until: end).hasPrefix("HTTP/1.1 200"))
                try await Task.sleep(until: opened + .milliseconds(1500))
                let sent = ContinuousClock.now
                try socket.send(head + #"{"mo"#)
                guard sendsBody else { return (await socket.readToEnd(), ContinuousClock.now - sent) }
                try await Task.sleep(for: .seconds(1))
                try socket.send(String(Harness.chatBody.dropFirst(4)))
                return (await socket.read(until: end), ContinuousClock.now - sent)
            }
            async let inTime = secondRequest(sendsBody: true)
            async let stalled = secondRequest(sendsBody: false)
            #expect(try await inTime.answer.hasPrefix("HTTP/1.1 200"), "a request read within its own timeout is answered")
            let waited = try await stalled.waited
            #expect(waited >= .seconds(1) && waited < .seconds(15), "a stalled body is closed at its own deadline, not the connection's first")
        }
    }
}
