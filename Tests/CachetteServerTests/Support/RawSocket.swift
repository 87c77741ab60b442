import Dispatch
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// A plain blocking socket that sends one request. Used as a client that never reads
/// (with a small receive buffer, so the sidecar feels it quickly), or as one that reads
/// on a thread of its own, unaffected by how busy the test's task pool is.
final class RawSocket: Sendable {
    let fd: Int32

    struct Failure: Error { let what: String }

    convenience init(port: Int, body: String, receiveBuffer: Int32? = nil) throws {
        let request =
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Authorization: Bearer sk-test-one\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        try self.init(port: port, raw: request, receiveBuffer: receiveBuffer)
    }

    /// Sends `raw` as it is: any Host, any framing, or half a request.
    init(port: Int, raw request: String, receiveBuffer: Int32? = nil) throws {
        // Close-on-exec: a child another test spawns meanwhile would otherwise hold the
        // connection open after `close()`, and the sidecar would never see the client leave.
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(what: "connect") }
        try send(request)
    }

    /// Sends more on the same connection: the next request, or the rest of one.
    func send(_ raw: String) throws {
        let bytes = Array(raw.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw Failure(what: "send") }
    }

    /// Everything the server sends until it closes the connection, read on a Dispatch thread.
    func readToEnd() async -> String {
        await read(until: nil)
    }

    /// What the server sends until it has sent `marker` (or closes the connection).
    func read(until marker: String?) async -> String {
        let wanted = marker.map { Array($0.utf8) }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    received += buffer[0..<n]
                    if let wanted, received.firstRange(of: wanted) != nil { break }
                }
                continuation.resume(returning: String(decoding: received, as: UTF8.self))
            }
        }
    }

    func close() { _ = Glibc.close(fd) }
}
