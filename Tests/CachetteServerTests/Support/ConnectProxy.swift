import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A forward proxy on a loopback port that answers `CONNECT host:port` with a tunnel,
/// as corporate egress proxies do. It counts the tunnels it opens, and with
/// credentials set, refuses (407) a `CONNECT` without the matching `Proxy-Authorization`.
/// Blocking sockets on threads of its own, so a busy test task pool cannot stall it.
final class ConnectProxy: Sendable {
    let port: Int
    private let listener: Int32
    private let expected: String?
    /// Like Squid's and tinyproxy's defaults: tunnels to this port only.
    private let onlyPort: Int?
    private let state = Mutex(State())

    private struct State {
        var tunnels: [String] = []
        var refused = 0
        var open: Set<Int32> = []
    }

    /// The `host:port` of each tunnel opened, in order.
    var tunnels: [String] { state.withLock { $0.tunnels } }
    /// `CONNECT`s refused for their credentials.
    var refused: Int { state.withLock { $0.refused } }

    struct Failure: Error { let what: String }

    init(user: String? = nil, password: String? = nil, onlyPort: Int? = nil) throws {
        self.onlyPort = onlyPort
        expected = user.map { "Basic " + Data("\($0):\(password ?? "")".utf8).base64EncodedString() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else { throw Failure(what: "listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops accepting and closes every tunnel.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in state.withLock({ $0.open }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            // Close-on-exec: a child another test spawns must not hold the tunnel open.
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        track(client)
        defer { untrack(client) }
        guard let head = readHead(client) else { return }
        let lines = head.components(separatedBy: "\r\n")
        let request = lines[0].split(separator: " ")
        guard request.count == 3, request[0] == "CONNECT" else { return reply(client, "405 Method Not Allowed") }
        let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("proxy-authorization:") }
            .map { $0.dropFirst("proxy-authorization:".count).trimmingCharacters(in: .whitespaces) }
        if let expected, authorization != expected {
            state.withLock { $0.refused += 1 }
            return reply(client, "407 Proxy Authentication Required", extra: "Proxy-Authenticate: Basic realm=\"test\"\r\n")
        }
        let target = String(request[1])
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]),
            let upstream = Self.connect(host: String(target[..<colon]), port: port)
        else { return reply(client, "502 Bad Gateway") }
        if let onlyPort, port != onlyPort {
            close(upstream)
            return reply(client, "403 Forbidden")
        }
        track(upstream)
        defer { untrack(upstream) }
        state.withLock { $0.tunnels.append(target) }
        reply(client, "200 Connection established", close: false)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Self.pipe(from: upstream, to: client)
            done.signal()
        }
        Self.pipe(from: client, to: upstream)
        done.wait()
    }

    private func track(_ fd: Int32) { _ = state.withLock { $0.open.insert(fd) } }

    private func untrack(_ fd: Int32) {
        _ = state.withLock { $0.open.remove(fd) }
        close(fd)
    }

    private func readHead(_ fd: Int32) -> String? {
        var received: [UInt8] = []
        var byte: UInt8 = 0
        // One byte at a time: nothing after the head may be read before the tunnel opens.
        while received.count < 16 << 10 {
            guard recv(fd, &byte, 1, 0) == 1 else { return nil }
            received.append(byte)
            if received.suffix(4).elementsEqual("\r\n\r\n".utf8) { return String(decoding: received, as: UTF8.self) }
        }
        return nil
    }

    private func reply(_ fd: Int32, _ status: String, extra: String = "", close: Bool = true) {
        let text = "HTTP/1.1 \(status)\r\n\(extra)\(close ? "Content-Length: 0\r\nConnection: close\r\n" : "")\r\n"
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func connect(host: String, port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else {
            if fd >= 0 { close(fd) }
            return nil
        }
        return fd
    }

    /// Copies until `from` ends, then ends `to`'s sending side.
    private static func pipe(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            var offset = 0
            while offset < n {
                let sent = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, n - offset, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { break }
                offset += sent
            }
            guard offset == n else { break }
        }
        shutdown(to, Int32(SHUT_WR))
    }
}
