import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

@Suite("Configuration")
struct ConfigTests {
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    func load(_ yaml: String, env: [String: String] = [:], overrides: ConfigLoader.Overrides = .init()) throws(ConfigError) -> CachetteConfig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-\(UUID().uuidString).yaml").path
        FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
        return try ConfigLoader.load(file: path, environment: env, overrides: overrides)
    }

    @Test("the config file: --config, else CACHETTE_CONFIG, else the user's XDG file, else /etc's, else none")
    func configFile() {
        let user = "/home/u/.config/cachette/cachette.yaml", system = "/etc/cachette/cachette.yaml"
        func found(_ explicit: String?, _ environment: [String: String], _ files: Set<String>) -> String? {
            ConfigLoader.configFile(explicit: explicit, environment: environment, exists: files.contains)
        }
        let home = ["HOME": "/home/u"]
        #expect(found("/tmp/a.yaml", home.merging(["CACHETTE_CONFIG": "/tmp/b.yaml"]) { $1 }, [user]) == "/tmp/a.yaml")
        #expect(found(nil, home.merging(["CACHETTE_CONFIG": "/tmp/b.yaml"]) { $1 }, [user]) == "/tmp/b.yaml")
        #expect(found(nil, home.merging(["CACHETTE_CONFIG": ""]) { $1 }, [user, system]) == user, "empty is unset")
        #expect(found(nil, home.merging(["XDG_CONFIG_HOME": "/xdg"]) { $1 }, ["/xdg/cachette/cachette.yaml", user]) == "/xdg/cachette/cachette.yaml")
        #expect(found(nil, home, [system]) == system)
        #expect(found(nil, home, []) == nil, "built-in defaults")
    }

    @Test("the database: under XDG_DATA_HOME (~/.local/share), unless only the old default under ~/.cache exists")
    func databasePath() {
        let new = "/home/u/.local/share/cachette/cachette.sqlite", old = "/home/u/.cache/cachette/cachette.sqlite"
        let home = ["HOME": "/home/u"]
        #expect(CachetteConfig.defaultDatabasePath(environment: home, exists: { _ in false }) == new)
        #expect(CachetteConfig.defaultDatabasePath(environment: home, exists: { $0 == old }) == old, "an existing file is not left behind")
        #expect(CachetteConfig.defaultDatabasePath(environment: home, exists: { $0 == old || $0 == new }) == new)
        #expect(
            CachetteConfig.defaultDatabasePath(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "/data"], exists: { _ in false })
                == "/data/cachette/cachette.sqlite")
    }

    @Test("prompt_cache: anthropic, max_prefixes, the minimum table and its margin; out-of-range values are refused by name")
    func promptCacheSteering() throws {
        var config = CachetteConfig()
        try ConfigLoader.apply(
            yaml: """
                prompt_cache:
                  anthropic: off
                  max_prefixes: 1000
                  minimum_margin_percent: 0
                  minimum_tokens:
                    claude-sonnet-5*: 3000
                    claude-haiku-4-5*: 5000
                    default: 1500
                """, to: &config)
        let steering = config.promptCache.steering
        #expect(config.promptCache.anthropic == .off && steering.maxPrefixes == 1000)
        #expect(steering.threshold(for: "claude-sonnet-5-20270101") == 3000)
        #expect(steering.threshold(for: "claude-haiku-4-5") == 5000, "the table's own value wins")
        #expect(steering.threshold(for: "claude-opus-4-5") == 4096, "documented families it leaves out keep theirs")
        #expect(steering.threshold(for: "claude-sonnet-4-6") == 1500)
        for (yaml, key) in [
            "prompt_cache:\n  anthropic: sometimes", "prompt_cache:\n  max_prefixes: 0", "prompt_cache:\n  minimum_margin_percent: 101",
            "prompt_cache:\n  minimum_tokens:\n    default: -1", "prompt_cache:\n  minimum_tokens: 1024",
        ].map({ ($0, $0.split(separator: "\n")[1].split(separator: ":")[0].trimmingCharacters(in: .whitespaces)) }) {
            var config = CachetteConfig()
            #expect {
                try ConfigLoader.apply(yaml: yaml, to: &config)
            } throws: { error in
                "\(error)".contains("prompt_cache.\(key)")
            }
        }
    }

    @Test("the shipped config/cachette.yaml loads and matches the built-in defaults")
    func shippedConfig() throws {
        let shipped = try ConfigLoader.load(file: Self.repoRoot.appendingPathComponent("config/cachette.yaml").path, environment: ["HOME": "/home/u"])
        let defaults = try ConfigLoader.load(file: nil, environment: ["HOME": "/home/u"])
        #expect(shipped.server.host == "127.0.0.1" && shipped.server.port == 8766)
        #expect(shipped.server.maxBodyBytes == defaults.server.maxBodyBytes)
        #expect(shipped.server.maxPassthroughBytes == defaults.server.maxPassthroughBytes && defaults.server.maxPassthroughBytes == 512 << 20)
        #expect(shipped.server.allowedHosts.isEmpty && shipped.server.allowedOrigins.isEmpty)
        #expect(shipped.server.readTimeout == .seconds(30) && defaults.server.readTimeout == .seconds(30))
        #expect(shipped.server.idleTimeout == .seconds(120) && defaults.server.idleTimeout == .seconds(120))
        #expect(shipped.server.maxConnections == 1024 && defaults.server.maxConnections == 1024)
        #expect(shipped.cache.credentialHeaders.isEmpty)
        #expect(shipped.accounting.maxModels == 200 && defaults.accounting.maxModels == 200)
        #expect(shipped.upstream.baseURL == defaults.upstream.baseURL)
        #expect(shipped.upstream.apiKey == nil)
        // The example routing table: no keys, so clients' own keys pass through.
        #expect(shipped.resolvedUpstreams.map(\.name) == ["anthropic", "gemini", "local", "default"])
        #expect(shipped.resolvedUpstreams.allSatisfy { $0.apiKey == nil })
        #expect(CachetteConfig.upstream(for: "claude-sonnet-4-6", in: shipped.resolvedUpstreams)?.format == .anthropic)
        #expect(CachetteConfig.upstream(for: "gpt-4o", in: shipped.resolvedUpstreams)?.baseURL == "https://api.openai.com/v1")
        #expect(shipped.upstream.timeout == defaults.upstream.timeout)
        #expect(shipped.upstream.idleTimeout == defaults.upstream.idleTimeout)
        #expect(shipped.upstream.connectTimeout == defaults.upstream.connectTimeout)
        #expect(shipped.upstream.maxConnections == defaults.upstream.maxConnections)
        #expect(shipped.upstream.maxResponseBytes == defaults.upstream.maxResponseBytes)
        #expect(shipped.cache.ttl == .seconds(86400) && shipped.cache.ttl == defaults.cache.ttl)
        #expect(shipped.cache.maxBytes == 1 << 30 && shipped.cache.memoryBytes == defaults.cache.memoryBytes)
        #expect(shipped.cache.scope == .credential && shipped.cache.keyFields == .all)
        #expect(shipped.cache.path == "/home/u/.local/share/cachette/cachette.sqlite")
        #expect(shipped.stream.finishOnDisconnect == defaults.stream.finishOnDisconnect && shipped.stream.finishOnDisconnect)
        #expect(shipped.stream.maxBufferedBytes == defaults.stream.maxBufferedBytes && shipped.stream.maxBufferedBytes == 8 << 20)
        #expect(shipped.accounting.prices.entries == defaults.accounting.prices.entries && !shipped.accounting.prices.entries.isEmpty)
        #expect(shipped.accounting.ledgerRetention == defaults.accounting.ledgerRetention)
        #expect(shipped.compression.level == .safe && shipped.compression.dedupMinTokens == 64 && !shipped.compression.system)
        #expect(shipped.compression.maxToolOutputTokens == 4096 && defaults.compression.maxToolOutputTokens == 4096)
        #expect(shipped.logging.level == .info)
        #expect(shipped.promptCache.anthropic == .auto && defaults.promptCache.anthropic == .auto && shipped.promptCache.openai == .auto)
        #expect(shipped.promptCache.steering == defaults.promptCache.steering && defaults.promptCache.steering.maxPrefixes == 50_000)
        #expect(shipped.shared.url == nil && defaults.shared.url == nil, "no shared tier unless asked")
        #expect(shipped.shared.poolSize == 8 && defaults.shared.poolSize == 8)
        #expect(shipped.shared.timeout == .milliseconds(250) && defaults.shared.timeout == .milliseconds(250))
        #expect(shipped.shared.maxBytes == 20 << 30 && defaults.shared.maxBytes == 20 << 30)
        #expect(shipped.shared.ledger && defaults.shared.ledger && !shipped.shared.unlogged && !defaults.shared.unlogged)
        #expect(shipped.shared.pruneInterval == .seconds(60) && defaults.shared.pruneInterval == .seconds(60))
    }

    @Test("telemetry: off by default; on with telemetry.otlp_endpoint or OpenTelemetry's variables, which win; OTEL_SDK_DISABLED turns it off")
    func telemetry() throws {
        #expect(try load("").telemetry.tracesEndpoint == nil)
        let file = try load("telemetry:\n  otlp_endpoint: http://collector:4318\n  service_name: edge-cache")
        #expect(file.telemetry.tracesEndpoint == "http://collector:4318/v1/traces" && file.telemetry.serviceName == "edge-cache")
        let base = try load("", env: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318/", "OTEL_SERVICE_NAME": "svc"])
        #expect(base.telemetry.tracesEndpoint == "http://a:4318/v1/traces" && base.telemetry.serviceName == "svc")
        let traces = try load(
            "telemetry:\n  otlp_endpoint: http://collector:4318",
            env: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/otlp/traces"])
        #expect(traces.telemetry.tracesEndpoint == "https://b/otlp/traces")
        let disabled = try load("telemetry:\n  otlp_endpoint: http://collector:4318", env: ["OTEL_SDK_DISABLED": "true"])
        #expect(disabled.telemetry.tracesEndpoint == nil)
        #expect(throws: ConfigError.self) { try load("telemetry:\n  otlp_endpoint: collector:4318") }
        #expect(throws: ConfigError.self) { try load("", env: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:pw@a:4318"]) }
        #expect(throws: ConfigError.self) { try load("telemetry:\n  otlp_endpoints: http://a") }
    }

    @Test("shared.url from the file (env:NAME), CACHETTE_SHARED_URL and --shared, in that order; its password is never in an error")
    func sharedURL() throws {
        let yaml =
            "shared:\n  url: env:PG_URL\n  pool_size: 4\n  timeout: 100ms\n  max_bytes: 1GiB\n  ledger: false\n  unlogged: true\n  prune_interval: 5m"
        let fromFile = try load(yaml, env: ["PG_URL": "postgres://app:s3cret@db:6543/cache?sslmode=require"])
        #expect(fromFile.shared.url?.host == "db" && fromFile.shared.url?.port == 6543 && fromFile.shared.url?.password == "s3cret")
        #expect(fromFile.shared.url?.tls == .require && fromFile.shared.url?.database == "cache")
        #expect(fromFile.shared.poolSize == 4 && fromFile.shared.timeout == .milliseconds(100) && fromFile.shared.maxBytes == 1 << 30)
        #expect(!fromFile.shared.ledger && fromFile.shared.unlogged && fromFile.shared.pruneInterval == .seconds(300))
        let fromEnvironment = try load(yaml, env: ["PG_URL": "postgres://a@one/x", "CACHETTE_SHARED_URL": "postgres://a@two/x"])
        #expect(fromEnvironment.shared.url?.host == "two")
        let fromFlag = try ConfigLoader.load(
            file: nil, environment: ["CACHETTE_SHARED_URL": "postgres://a@two/x"], overrides: .init(shared: "postgresql://a@three/x"))
        #expect(fromFlag.shared.url?.host == "three")
        for bad in ["mysql://u:hunter2@h/db", "postgres://u:hunter2@/db", "postgres://u:hunter2@h/db?sslmode=sometimes", "postgres://:hunter2@h/db"] {
            #expect {
                try load("", env: ["CACHETTE_SHARED_URL": bad])
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.key == "CACHETTE_SHARED_URL" && !error.description.contains("hunter2")
            }
        }
    }

    @Test(
        "bad shared settings name their key",
        arguments: [
            ("shared:\n  pool_size: 1", "shared.pool_size", "at least 2"),
            ("shared:\n  timeout: 0", "shared.timeout", "greater than zero"),
            ("shared:\n  url: env:CACHETTE_TEST_UNSET", "shared.url", "CACHETTE_TEST_UNSET is not set"),
            ("shared:\n  url: postgres://u@h/d\ncache:\n  enabled: false", "shared.url", "cache.enabled: false"),
            ("shared:\n  urls: x", "shared.urls", "unknown setting"),
        ])
    func badShared(yaml: String, key: String, problem: String) {
        #expect {
            try load(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.problem.contains(problem)
        }
    }

    @Test("the hardening settings: hosts, origins, timeouts, limits, credential headers, max models")
    func hardeningSettings() throws {
        let config = try load(
            """
            server: {allowed_hosts: [cachette], allowed_origins: ["https://app.example"], read_timeout: 5s, idle_timeout: 1m, max_connections: 10, max_passthrough_bytes: 1GiB}
            cache: {credential_headers: [X-Portkey-Api-Key], key_ignore: ["request-id: *"]}
            accounting: {max_models: 7}
            """)
        #expect(config.cache.keyIgnore == ["request-id: *"])
        #expect(throws: ConfigError.self) { try load(#"cache: {key_ignore: ["*"]}"#) }
        #expect(throws: ConfigError.self) { try load(#"cache: {key_ignore: [""]}"#) }
        #expect(config.server.allowedHosts == ["cachette"] && config.server.allowedOrigins == ["https://app.example"])
        #expect(config.server.readTimeout == .seconds(5) && config.server.idleTimeout == .seconds(60))
        #expect(config.server.maxConnections == 10 && config.server.maxPassthroughBytes == 1 << 30)
        #expect(config.cache.credentialHeaders == ["x-portkey-api-key"])
        #expect(config.accounting.maxModels == 7)
        #expect(throws: ConfigError.self) { try load("server: {allowed_origins: [app.example]}") }
        #expect(throws: ConfigError.self) { try load("accounting: {max_models: 0}") }
        #expect(throws: ConfigError.self) { try load("server: {read_timeout: 0s}") }
    }

    @Test("file, then environment, then flags")
    func precedence() throws {
        let yaml = """
            server: {host: 0.0.0.0, port: 9000}
            upstream: {base_url: "http://file.example/v1"}
            cache: {path: /tmp/file.sqlite}
            """
        let fromFile = try load(yaml)
        #expect(fromFile.server.host == "0.0.0.0" && fromFile.server.port == 9000)
        let env = [
            "CACHETTE_HOST": "127.0.0.2", "CACHETTE_PORT": "9001", "CACHETTE_UPSTREAM": "http://env.example/v1", "CACHETTE_DB": "/tmp/env.sqlite",
        ]
        let fromEnv = try load(yaml, env: env)
        #expect(fromEnv.server.host == "127.0.0.2" && fromEnv.server.port == 9001)
        #expect(fromEnv.upstream.baseURL == "http://env.example/v1" && fromEnv.cache.path == "/tmp/env.sqlite")
        let fromFlags = try load(
            yaml, env: env, overrides: .init(host: "127.0.0.3", port: 9002, upstream: "http://flag.example/v1", database: "/tmp/flag.sqlite"))
        #expect(fromFlags.server.host == "127.0.0.3" && fromFlags.server.port == 9002)
        #expect(fromFlags.upstream.baseURL == "http://flag.example/v1" && fromFlags.cache.path == "/tmp/flag.sqlite")
    }

    @Test("values in every accepted spelling")
    func values() throws {
        let c = try load(
            """
            server: {max_body_bytes: 512KiB}
            upstream: {timeout: 1500ms, idle_timeout: 2m, connect_timeout: 3, api_key: "env:TEST_KEY"}
            cache: {ttl: 7d, max_bytes: 2GB, memory_bytes: 0, scope: shared, key_fields: prompt, enabled: false}
            stream: {finish_on_disconnect: false, max_buffered_bytes: 1MiB}
            logging: {level: debug}
            """, env: ["TEST_KEY": "sk-env"])
        #expect(!c.stream.finishOnDisconnect && c.stream.maxBufferedBytes == 1 << 20)
        #expect(c.server.maxBodyBytes == 512 * 1024)
        #expect(c.upstream.timeout == .milliseconds(1500) && c.upstream.idleTimeout == .seconds(120) && c.upstream.connectTimeout == .seconds(3))
        #expect(c.upstream.apiKey == "sk-env")
        #expect(c.cache.ttl == .seconds(7 * 86400) && c.cache.maxBytes == 2_000_000_000 && c.cache.memoryBytes == 0)
        #expect(c.cache.scope == .shared && c.cache.keyFields == .prompt && !c.cache.enabled)
        #expect(c.logging.level == .debug)
        #expect(try load("").server.port == 8766)
    }

    @Test(
        "a bad setting names its key and the problem",
        arguments: [
            ("cache:\n  tll: 1h", "cache.tll", "unknown setting"),
            ("cache:\n  ttl: soon", "cache.ttl", "duration"),
            ("cache:\n  ttl: 0", "cache.ttl", "greater than zero"),
            ("cache:\n  max_bytes: lots", "cache.max_bytes", "size"),
            ("cache:\n  scope: everyone", "cache.scope", "credential, shared"),
            ("cache:\n  key_fields: some", "cache.key_fields", "all, prompt"),
            ("cache:\n  enabled: maybe", "cache.enabled", "true or false"),
            ("cache:\n  compression_level: 40", "cache.compression_level", "between 1 and 19"),
            ("server:\n  port: 70000", "server.port", "port number"),
            ("server:\n  port: [1]", "server.port", "single value"),
            ("upstream:\n  base_url: ftp://x/v1", "upstream.base_url", "http"),
            ("upstream:\n  api_key: env:CACHETTE_TEST_UNSET", "upstream.api_key", "CACHETTE_TEST_UNSET is not set"),
            ("upstream:\n  max_connections: -1", "upstream.max_connections", "positive"),
            ("logging:\n  level: loud", "logging.level", "expected one of"),
            ("stream:\n  finish_on_disconnect: later", "stream.finish_on_disconnect", "true or false"),
            ("stream:\n  max_buffered_bytes: 1KiB", "stream.max_buffered_bytes", "at least 64KiB"),
            ("stream:\n  buffer: 1MiB", "stream.buffer", "unknown setting"),
            ("compression:\n  level: max", "compression.level", "off, safe, aggressive"),
            ("compression:\n  dedup_min_tokens: 0", "compression.dedup_min_tokens", "positive"),
            ("compression:\n  max_tool_output_tokens: 100", "compression.max_tool_output_tokens", "at least 256"),
            ("database: x", "database", "unknown section"),
            ("server: [1, 2]", "server", "mapping"),
            // A file that is not YAML is named by its path.
            ("server: {host: [", "<the file's path>", "not valid YAML"),
        ])
    func badSettings(yaml: String, key: String, problem: String) {
        #expect {
            try load(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            let named = key == "<the file's path>" ? error.key.hasPrefix("/") && error.key.hasSuffix(".yaml") : error.key == key
            return named && error.problem.contains(problem) && !error.description.contains("\n")
        }
    }

    @Test(
        "an unknown setting or section names the nearest known one",
        arguments: [
            ("cache:\n  tll: 1h", "cache.tll", "did you mean cache.ttl?"),
            ("upstreams:\n  - name: x\n    base_url: http://a/v1\n    modles: [a]", "upstreams.x.modles", "did you mean upstreams.x.models?"),
            ("upstream:\n  tls:\n    verfy: false", "upstream.tls.verfy", "did you mean upstream.tls.verify?"),
            ("server:\n  prot: 1", "server.prot", "did you mean server.port?"),
            ("cahce:\n  ttl: 1h", "cahce", "did you mean cache?"),
            ("cache:\n  zzzzzz: 1", "cache.zzzzzz", "unknown setting"),
        ])
    func nearestSetting(yaml: String, key: String, problem: String) {
        var config = CachetteConfig()
        #expect { try ConfigLoader.apply(yaml: yaml, to: &config) } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.problem.contains(problem) && (problem == "unknown setting") == !error.problem.contains("mean")
        }
    }

    @Test("the names suggestions come from are the settings there are: every one the README documents, none unknown to the loader")
    func settingNamesAreTrue() throws {
        let readme = try String(contentsOf: Self.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let documented = readme.split(separator: "\n").compactMap { line -> [String]? in
            guard line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            let parts = line[line.index(line.startIndex, offsetBy: 3)..<end].split(separator: ".").map(String.init)
            return parts.count >= 2 && ConfigLoader.sectionNames.contains(parts[0]) ? parts : nil
        }
        #expect(documented.count >= 45)
        for parts in documented {
            let section = parts.count == 3 && parts[1] == "tls" ? "*.tls" : parts.dropLast().joined(separator: ".")
            #expect(ConfigLoader.settingNames[section]?.contains(parts.last!) == true, "\(parts.joined(separator: ".")) is documented but not listed")
        }
        // Each listed name is one the loader takes: a wrong value for it is a wrong value, not an unknown setting.
        for (section, names) in ConfigLoader.settingNames {
            for name in names {
                let yaml =
                    switch section {
                    case "upstreams.*": "upstreams:\n  - name: x\n    \(name): [[1]]"
                    case "*.tls": "upstream:\n  tls:\n    \(name): [[1]]"
                    default: "\(section):\n  \(name): [[1]]"
                    }
                var config = CachetteConfig()
                do {
                    try ConfigLoader.apply(yaml: yaml, to: &config)
                } catch {
                    #expect(!error.problem.contains("unknown"), "\(section).\(name): \(error)")
                }
            }
        }
    }

    @Test("bad environment values name the variable")
    func badEnvironment() {
        #expect { try load("", env: ["CACHETTE_PORT": "eighty"]) } throws: { ($0 as? ConfigError)?.key == "CACHETTE_PORT" }
    }

    @Test(
        "durations and sizes", arguments: [("90", 90.0), ("90s", 90), ("500ms", 0.5), ("15m", 900), ("24h", 86400), ("1.5h", 5400), ("7d", 604800)])
    func durations(text: String, seconds: Double) {
        #expect(ConfigValues.duration(text)?.seconds == seconds)
    }

    @Test(
        "sizes",
        arguments: [
            ("1024", 1024), ("1KiB", 1024), ("10MiB", 10 << 20), ("1GiB", 1 << 30), ("2GB", 2_000_000_000), ("5 MB", 5_000_000), ("64K", 65536),
        ])
    func sizes(text: String, bytes: Int) {
        #expect(ConfigValues.byteSize(text) == bytes)
    }

    @Test("tls: under upstream is every upstream's default, an upstream's own fields win, and SSL_CERT_FILE / SSL_CERT_DIR are read")
    func tlsSettings() throws {
        let config = try load(
            """
            upstream:
              tls:
                ca_file: /etc/ssl/internal-ca.pem
                verify: true
            upstreams:
              - name: internal
                base_url: https://10.0.0.5/v1
                models: ["llama-*"]
                tls:
                  client_cert: /etc/cachette/client.pem
                  client_key: env:CLIENT_KEY_PATH
                  server_name: llm.internal.example
                  verify: false
              - name: default
                base_url: https://api.openai.com/v1
            """, env: ["CLIENT_KEY_PATH": "/run/secrets/client.key", "SSL_CERT_FILE": "/etc/roots.pem", "SSL_CERT_DIR": "/etc/roots.d"])
        let vllm = config.upstreams[0].tls.over(config.upstream.tls)
        #expect(vllm.caFile == "/etc/ssl/internal-ca.pem" && vllm.verify == false)
        #expect(vllm.clientKey == "/run/secrets/client.key" && vllm.serverName == "llm.internal.example")
        #expect(config.upstreams[1].tls.over(config.upstream.tls).verify == true)
        #expect(config.upstream.environmentRootsFile == "/etc/roots.pem" && config.upstream.environmentRootsDirectory == "/etc/roots.d")
        #expect(throws: ConfigError.self) {
            try load("upstream:\n  tls:\n    client_cert: /a.pem\n")  // without client_key
        }
        #expect(throws: ConfigError.self) { try load("upstream:\n  tls:\n    verfiy: false\n") }
    }

    @Test("--upstream and CACHETTE_UPSTREAM may name the format: anthropic=URL routes everything, /v1/messages too, to an Anthropic upstream")
    func upstreamWithFormat() throws {
        let flag = try ConfigLoader.load(file: nil, environment: [:], overrides: .init(upstream: "anthropic=https://api.anthropic.com/v1"))
        #expect(flag.resolvedUpstreams == [CachetteConfig.Upstream(name: "default", baseURL: "https://api.anthropic.com/v1", format: .anthropic)])
        let env = try ConfigLoader.load(file: nil, environment: ["CACHETTE_UPSTREAM": "openai=http://127.0.0.1:8000/v1"])
        #expect(env.resolvedUpstreams.map(\.format) == [.openai] && env.upstream.baseURL == "http://127.0.0.1:8000/v1")
        let plain = try ConfigLoader.load(file: nil, environment: ["CACHETTE_UPSTREAM": "http://h/v1?a=b"])
        #expect(plain.upstream.baseURL == "http://h/v1?a=b")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(file: nil, environment: [:], overrides: .init(upstream: "gemini=https://g/v1")) }
    }

    @Test("proxy: none or a URL, per upstream or for all; a bad one names its key and never prints the value")
    func proxySettings() throws {
        let config = try load(
            """
            upstream:
              proxy: http://user:pw@proxy.corp:3128
            upstreams:
              - name: local
                base_url: http://127.0.0.1:11434/v1
                models: ["llama*"]
                proxy: none
              - name: default
                base_url: https://api.openai.com/v1
            """, env: ["HTTPS_PROXY": "http://env-proxy:8080", "NO_PROXY": "internal"])
        #expect(config.upstream.proxy == .server(ProxyServer("http://user:pw@proxy.corp:3128")!))
        #expect(config.upstreams[0].proxy == .direct && config.upstreams[1].proxy == nil)
        #expect(config.upstream.environmentProxy.https?.host == "env-proxy" && config.upstream.environmentProxy.noProxy == ["internal"])
        do {
            _ = try load("upstream:\n  proxy: ftp://user:hunter2@proxy.corp\n")
            Issue.record("accepted an ftp proxy")
        } catch {
            #expect(error.key == "upstream.proxy" && !error.description.contains("hunter2"))
        }
    }

    @Test("junk durations and sizes are refused", arguments: ["", "abc", "-5s", "5x", "1e999h"])
    func junk(text: String) {
        #expect(ConfigValues.duration(text) == nil)
        #expect(ConfigValues.byteSize(text) == nil)
    }
}
