import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import Glibc
import NIOCore
import Synchronization
import Testing
@testable import CachetteShared

/// The heavy PostgreSQL tests (processes and clusters of their own), one at a time, so
/// that the rest of the suite, timing-sensitive stream tests among them, keeps its
/// margins on two cores.
@Suite("PostgreSQL, one at a time", .serialized)
enum HeavyPostgresTests {}

/// The shared tier when things go wrong: a leader that dies, a PostgreSQL that stops.
extension HeavyPostgresTests {
    @Suite("Shared tier faults")
    struct SharedFaultTests {
        @Test("a leader killed mid-flight: the follower on another replica makes its own call once the leader's deadline passes")
        func leaderKilled() async throws {
            let cluster = try await PostgresCluster.shared
            let url = cluster.url(try await cluster.createDatabase())
            let upstream = FakeUpstream()
            upstream.reply(.init(delay: .seconds(10)))  // the leader's call never comes back
            try await Harness.runReplicas(
                1, upstream: upstream, configure: SharedTierTests.sharing(url) { config, _ in config.upstream.timeout = .seconds(6) }
            ) {
                replicas in
                let b = replicas[0]
                // Replica A is a real process, so it can die like one.
                let (pid, a) = try await SidecarProcess.start(upstream: b.config.upstream.baseURL, shared: url, name: "leader")
                var killed = false
                defer { if !killed { Glibc.kill(pid, SIGKILL) } }

                var leaderRequest = b.clientRequest()
                leaderRequest.url = a + "/v1/chat/completions"
                let leader = Task { try? await HTTPClient.shared.execute(leaderRequest, timeout: .seconds(30)) }
                try await eventually { upstream.calls == 1 }
                // The leader's deadline: its claim plus its upstream timeout (6 s).
                let deadline = try #require(Double(try await cluster.sql("SELECT deadline FROM cachette_flights", database: dbName(url))))
                upstream.reply(.init())  // the next call answers at once

                let follower = Task {
                    let response = try await HTTPClient.shared.execute(b.clientRequest(), timeout: .seconds(30))
                    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)), Date().timeIntervalSince1970)
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(upstream.calls == 1, "the follower waits for the leader")
                await Subprocess.kill(pid)
                killed = true
                leader.cancel()

                let (status, body, finished) = try await follower.value
                #expect(status == 200)
                #expect(body.contains("answer number 2"))
                #expect(upstream.calls == 2)
                #expect(finished >= deadline, "not before the leader's deadline")
                #expect(finished < deadline + 2, "soon after it: \(finished - deadline) s")
                let state = try await b.json("/stats")["shared"]
                #expect(state?["flight_waits"]?.intValue == 1, "\(String(describing: state))")
            }
        }

        @Test("a graceful shutdown (SIGTERM) sends the last batch: a hit booked just before it reaches the cluster ledger")
        func lastBatchOnShutdown() async throws {
            let cluster = try await PostgresCluster.shared
            let url = cluster.url(try await cluster.createDatabase())
            try await Harness.runReplicas(1, configure: { _, _ in }) { replicas in
                let (pid, a) = try await SidecarProcess.start(upstream: replicas[0].config.upstream.baseURL, shared: url, name: "stopping")
                var stopped = false
                defer { if !stopped { Glibc.kill(pid, SIGKILL) } }
                var request = replicas[0].clientRequest()
                request.url = a + "/v1/chat/completions"
                var outcomes: [String] = []
                for _ in 0..<2 {
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    outcomes.append(response.headers.first(name: "x-cache") ?? "")
                }
                #expect(outcomes == ["MISS", "HIT"])
                // A hit queues its ledger bucket without waking the writer: only the
                // shutdown's last batch can send it this soon.
                await Subprocess.kill(pid, SIGTERM)
                stopped = true
                let hits = try await cluster.sql(
                    "SELECT coalesce(sum(requests), 0) FROM cachette_ledger_buckets WHERE outcome = 'hit'", database: dbName(url))
                #expect(hits == "1")
            }
        }

        @Test("PostgreSQL stopped mid-load: no request fails, none waits on it, and the tier comes back when it restarts")
        func postgresStopped() async throws {
            let cluster = try await PostgresCluster.start()
            let url = cluster.url()
            let upstream = FakeUpstream()
            try await Harness.runReplicas(
                2, upstream: upstream, configure: SharedTierTests.sharing(url) { config, _ in config.shared.timeout = .milliseconds(300) }
            ) { replicas in
                try await waitUntilUp(replicas)
                let failures = Mutex<[String]>([])
                let slowest = Mutex<Duration>(.zero)
                let running = Atomic<Bool>(true)
                let load = Task {
                    var i = 0
                    while running.load(ordering: .relaxed) {
                        i += 1
                        // Repeated prompts hit; new ones miss and go upstream.
                        let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"load \#(i % 7 == 0 ? i : i % 5)"}]}"#
                        let started = ContinuousClock.now
                        do {
                            let response = try await HTTPClient.shared.execute(
                                replicas[i % 2].clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: body))), timeout: .seconds(10))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            if response.status != .ok { failures.withLock { $0.append("status \(response.status.code)") } }
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                        let took = ContinuousClock.now - started
                        slowest.withLock { $0 = max($0, took) }
                    }
                    return i
                }
                try await Task.sleep(for: .milliseconds(700))
                try await cluster.stopServer()
                for replica in replicas {
                    try await eventually { try await replica.json("/health")["shared"]?["state"]?.stringValue == "down" }
                    #expect(try await replica.get("/health").status == .ok)
                }
                try await Task.sleep(for: .seconds(1))
                try await cluster.startServer()
                try await waitUntilUp(replicas)
                running.store(false, ordering: .relaxed)
                let sent = await load.value
                #expect(sent > 20)
                #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(5))")
                // The shared timeout (300 ms) bounds any wait on PostgreSQL; the rest is a loaded machine's slack.
                #expect(slowest.withLock { $0 } < .seconds(2), "slowest request: \(slowest.withLock { $0 })")
                var failed = 0
                for replica in replicas { failed += try await sharedCount(replica, "errors") + sharedCount(replica, "timeouts") }
                #expect(failed > 0, "the outage was seen and counted")

                // Back up: a new answer on A is a shared hit on B.
                let fresh = #"{"model":"gpt-4o","messages":[{"role":"user","content":"after the restart"}]}"#
                expectCache(try await replicas[0].post("/v1/chat/completions", fresh), "MISS")
                let calls = upstream.calls
                try await eventually { try await replicas[1].post("/v1/chat/completions", fresh).xCache == "HIT" }
                #expect(upstream.calls == calls)
            }
            try await cluster.stopServer()
        }
    }

    @Suite("Shared tier over TLS")
    struct SharedTLSTests {
        @Test("sslmode=require and verify-ca (with sslrootcert) connect over TLS; verify-ca against another CA is refused")
        func tls() async throws {
            let cluster = try await PostgresCluster.start(tls: true)
            let other = try await PostgresCluster.start(tls: true)  // a certificate the first server does not have
            defer {
                Task {
                    try? await cluster.stopServer(); try? await other.stopServer()
                }
            }
            let modes = [
                cluster.url(sslmode: "require"), cluster.url(sslmode: "verify-ca") + "&sslrootcert=\(cluster.certificate)",
                cluster.url(sslmode: "verify-ca") + "&sslrootcert=\(other.certificate)",
            ]
            try await Harness.runReplicas(
                3, configure: SharedTierTests.sharing("") { config, index in config.shared.url = try? SharedURL(modes[index]) }
            ) {
                replicas in
                try await waitUntilUp(Array(replicas[0...1]))
                expectCache(try await replicas[0].post(), "MISS")
                try await eventually { try await replicas[1].post().xCache == "HIT" }
                // Every connection the two sidecars hold is encrypted.
                let plain = try await cluster.sql(
                    "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'cachette' AND NOT ssl AND pid <> pg_backend_pid()"
                )
                let encrypted = try await cluster.sql(
                    "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'cachette' AND ssl")
                #expect(plain == "0" && (Int(encrypted) ?? 0) >= 2, "plain \(plain), encrypted \(encrypted)")
                try await eventually { try await replicas[2].json("/health")["shared"]?["state"]?.stringValue == "down" }
                expectCache(
                    try await replicas[2].post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}"#), "MISS")
            }
        }
    }
}

/// `cachette serve` as a process of its own, on the shared tier at `shared`: it can die
/// like one, or be stopped like one.
enum SidecarProcess {
    /// Starts it and waits until its shared tier is up; returns its pid and base URL.
    static func start(upstream: String, shared url: String, name: String) async throws -> (pid: pid_t, baseURL: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/cachette.yaml"
        try """
        server:
          port: 0
        upstream:
          base_url: \(upstream)
          timeout: 6s
        cache:
          path: \(directory)/cache.sqlite
        shared:
          timeout: 5s
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let pid = try Subprocess.spawn(
            CLI.binary.path, ["serve", "--config", configPath], environment: ["CACHETTE_SHARED_URL": url, "CACHETTE_CONFIG": ""],
            log: directory + "/log")
        // Port 0, read back from the log: a port found free and handed over could be
        // taken by another test's socket before the child bound it (it was, once).
        var base = ""
        do {
            try await eventually(within: .seconds(30)) {
                let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
                guard let line = log.split(separator: "\n").first(where: { $0.contains("Server started and listening on 127.0.0.1:") }),
                    let port = line.split(separator: ":").last.flatMap({ Int($0) })
                else { return false }
                base = "http://127.0.0.1:\(port)"
                return true
            }
            try await eventually(within: .seconds(30)) {
                let health = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(2))
                guard let health else { return false }
                let body = try await health.body.collect(upTo: 1 << 16)
                return (try? JSONValue.parse(body.readableBytesView))?["shared"]?["state"]?.stringValue == "up"
            }
        } catch {
            Glibc.kill(pid, SIGKILL)
            throw error
        }
        return (pid, base)
    }
}
