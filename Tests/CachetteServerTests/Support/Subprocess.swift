import Dispatch
import Foundation
import Glibc
import Synchronization

/// Held while pipes are made close-on-exec and while children are spawned.
private let spawnLock = Mutex(())

/// Runs a program to its end, its output collected.
enum Subprocess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Waits for the process on a Dispatch thread: blocking one of the two cooperative
    /// threads would stall every server the other tests are running. An empty value in
    /// `environment` removes that variable.
    static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try runBlocking(path, arguments, environment: environment) })
            }
        }
    }

    /// Starts a program in the background, its output appended to `log`; returns its pid.
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String] = [:], log: String) throws -> pid_t {
        let (spawned, pid) = start(path, arguments, environment: environment) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT) }
        return pid
    }

    /// posix_spawn with `environment` over ours (an empty value removes a variable);
    /// `outputs` sets up the child's stdout and stderr. Returns posix_spawn's result.
    private static func start(
        _ path: String, _ arguments: [String], environment: [String: String], outputs: (inout posix_spawn_file_actions_t) -> Void
    ) -> (status: Int32, pid: pid_t) {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v.isEmpty ? nil : v }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        outputs(&actions)
        closeOthers(&actions)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = spawnLock.withLock { _ in posix_spawn(&pid, path, &actions, nil, argv, envp) }
        return (status, pid)
    }

    /// Kills a spawned program with `signal` and reaps it, off the cooperative threads.
    static func kill(_ pid: pid_t, _ signal: Int32 = SIGKILL) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                _ = Glibc.kill(pid, signal)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume()
            }
        }
    }

    /// Closes every descriptor above stderr in the child. A descriptor opened without
    /// close-on-exec would otherwise live on in it: a PostgreSQL server started during
    /// one test would hold another test's client connection open long after it closed.
    /// (glibc has it since 2.34; its Swift module does not export it.)
    private static func closeOthers(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    }

    /// A loopback port nobody listens on (the kernel's choice, released at once).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// posix_spawn, not Foundation's `Process`, whose `run()` crashed now and then (a
    /// bad memcpy inside it) while other tests ran, even with launches serialized.
    private static func runBlocking(_ path: String, _ arguments: [String], environment: [String: String]) throws -> Result {
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        // Made close-on-exec under the spawn lock: a child another test spawns meanwhile
        // (a PostgreSQL server lives on) must not inherit a write end, or our reads never
        // end. (Glibc's module does not export pipe2.)
        let piped = spawnLock.withLock { _ -> Bool in
            guard pipe(&out) == 0, pipe(&err) == 0 else { return false }
            for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return true
        }
        guard piped else { throw POSIXError(.EMFILE) }
        let (spawned, pid) = start(path, arguments, environment: environment) { [out, err] actions in
            posix_spawn_file_actions_adddup2(&actions, out[1], 1)
            posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        }
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT) }
        let (stdout, stderr) = readBoth(out[0], err[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited: its code; killed by a signal: the signal's number, as Process reports it.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
        return Result(status: code, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Both pipes to their ends at once, so a child filling one never blocks on the other.
    private static func readBoth(_ a: Int32, _ b: Int32) -> ([UInt8], [UInt8]) {
        var outputs: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var open = 2
        var chunk = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    outputs[i].append(contentsOf: chunk[0..<n])
                } else if n == 0 || errno != EINTR {
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        return (outputs[0], outputs[1])
    }
}
