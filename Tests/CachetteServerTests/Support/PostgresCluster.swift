import Foundation
import Glibc
import Synchronization

/// A throwaway PostgreSQL cluster: `initdb` in a temporary directory, a free loopback
/// port, password authentication over TCP. PostgreSQL refuses to run as root, so as
/// root (CI) the server runs as `nobody`. Stopped when the test process exits.
///
/// Most tests share one cluster (`shared`), each in a database of its own; a test that
/// stops PostgreSQL starts its own.
final class PostgresCluster: Sendable {
    let directory: String
    let port: Int
    let binaries: String
    static let user = "cachette"
    /// Random per run: a test that finds it in a log or an answer has found a leak.
    static let password = "pgpw-\(UInt64.random(in: 1 ... .max))"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The run's cluster, started on first use.
    static var shared: PostgresCluster {
        get async throws { try await sharedCluster.value }
    }
    private static let sharedCluster = Task { try await PostgresCluster.start() }

    let tls: Bool

    private init(directory: String, port: Int, binaries: String, tls: Bool) {
        self.directory = directory
        self.port = port
        self.binaries = binaries
        self.tls = tls
    }

    /// The server's self-signed certificate, when it serves TLS.
    var certificate: String { directory + "/server.crt" }

    /// - Parameter tls: also serve TLS, with a self-signed certificate (`certificate`).
    static func start(tls: Bool = false) async throws -> PostgresCluster {
        let binaries = try findBinaries()
        removeAbandoned(binaries: binaries)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "\(getpid())".write(toFile: directory + "/owner", atomically: true, encoding: .utf8)
        try "\(password)\n".write(toFile: directory + "/pwfile", atomically: true, encoding: .utf8)
        if getuid() == 0 {
            // The server's user must own its directory.
            for path in [directory, directory + "/pwfile"] { chown(path, 65534, 65534) }
        }
        let cluster = PostgresCluster(directory: directory, port: 0, binaries: binaries, tls: tls)
        if tls {
            let made = try await Subprocess.run(
                "/usr/bin/openssl",
                [
                    "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", directory + "/server.key", "-out", cluster.certificate,
                ])
            guard made.status == 0 else { throw Failure(description: "openssl failed: \(made.stderr)") }
            chmod(directory + "/server.key", 0o600)
            if getuid() == 0 { for file in ["/server.key", "/server.crt"] { chown(directory + file, 65534, 65534) } }
        }
        try await cluster.command(
            "initdb",
            ["-D", cluster.data, "-U", user, "--pwfile=\(directory)/pwfile", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]
        )
        registry.withLock { clusters in
            if clusters.isEmpty { atexit(stopAll) }
            clusters.append((binaries, directory))
        }
        // The port was free when asked for; another socket may take it before the server
        // binds it, so a server that finds it taken tries another.
        var attempt = 1
        while true {
            let started = PostgresCluster(directory: directory, port: try Subprocess.freePort(), binaries: binaries, tls: tls)
            do {
                try await started.startServer()
                return started
            } catch let failure as Failure where attempt < 5 && failure.description.contains("Address already in use") {
                attempt += 1
                try? FileManager.default.removeItem(atPath: directory + "/log")
            }
        }
    }

    var data: String { directory + "/data" }

    /// `postgres://cachette:<password>@127.0.0.1:<port>/<database>`.
    func url(_ database: String = "postgres", password: String = PostgresCluster.password, sslmode: String = "disable") -> String {
        "postgres://\(Self.user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=\(sslmode)"
    }

    /// A new, empty database, for one test.
    func createDatabase() async throws -> String {
        let name = "t_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        _ = try await sql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL through psql and returns its unaligned output, one line per row.
    @discardableResult
    func sql(_ statement: String, database: String = "postgres") async throws -> String {
        try await sql(session: [statement], database: database)
    }

    /// Statements sent one by one in one session: a transaction can span them.
    func sql(session statements: [String], database: String = "postgres") async throws -> String {
        let result = try await Subprocess.run(
            binaries + "/psql",
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d", database, "-v", "ON_ERROR_STOP=1", "-At"]
                + statements.flatMap { ["-c", $0] },
            environment: ["PGPASSWORD": Self.password]
        )
        guard result.status == 0 else { throw Failure(description: "psql failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func startServer() async throws {
        try await command(
            "pg_ctl",
            [
                "-D", data, "-l", directory + "/log", "-w", "-t", "60",
                "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=400"
                    + (tls ? " -c ssl=on -c ssl_cert_file=\(directory)/server.crt -c ssl_key_file=\(directory)/server.key" : ""),
                "start",
            ])
    }

    /// Stops the server at once, as a crash would.
    func stopServer() async throws {
        try await command("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
    }

    /// Runs one of PostgreSQL's programs, as `nobody` when we are root.
    private func command(_ program: String, _ arguments: [String]) async throws {
        let path = binaries + "/" + program
        let result =
            getuid() == 0
            ? try await Subprocess.run("/usr/sbin/runuser", ["-u", "nobody", "--", path] + arguments)
            : try await Subprocess.run(path, arguments)
        guard result.status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
            throw Failure(description: "\(program) failed (\(result.status)): \(result.stderr)\(result.stdout)\n\(log.suffix(2000))")
        }
    }

    /// The newest `/usr/lib/postgresql/N/bin`. Missing is a failure, never a skip:
    /// `make test` installs Debian's postgresql.
    private static func findBinaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb") else {
            throw Failure(description: "PostgreSQL is not installed (no \(root)/N/bin/initdb); `make test` installs it")
        }
        return "\(root)/\(newest)/bin"
    }

    /// Clusters left by test runs that were killed (no atexit): stopped and removed.
    private static func removeAbandoned(binaries: String) {
        let temporary = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix("cachette-pg-") {
            let directory = temporary + "/" + name
            guard let owner = (try? String(contentsOfFile: directory + "/owner", encoding: .utf8)).flatMap({ pid_t($0) }),
                Glibc.kill(owner, 0) != 0, errno == ESRCH
            else { continue }
            stop(binaries: binaries, directory: directory)
        }
    }

    /// Every cluster started by this process: stopped and removed at exit.
    fileprivate static let registry = Mutex<[(binaries: String, directory: String)]>([])
}

/// At exit: a synchronous, best-effort stop of every cluster, then its files.
private func stopAll() {
    for (binaries, directory) in PostgresCluster.registry.withLock({ $0 }) { stop(binaries: binaries, directory: directory) }
}

private func stop(binaries: String, directory: String) {
    let asUser = getuid() == 0 ? "/usr/sbin/runuser -u nobody -- " : ""
    _ = system("\(asUser)\(binaries)/pg_ctl -D \(directory)/data -m immediate stop >/dev/null 2>&1; rm -rf \(directory)")
}
