import Foundation
import NIOSSL

/// A throwaway CA made with Debian's `openssl`, with a server certificate for
/// `127.0.0.1` and `upstream.test`, one for `upstream.test` alone (NIOSSL accepts an
/// IP in the certificate whatever name was asked for, so a name mismatch needs a
/// certificate without one), and a client certificate for mTLS.
struct TestPKI: Sendable {
    let directory: String
    var caFile: String { directory + "/ca.pem" }
    var serverCert: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }
    var namedCert: String { directory + "/named.pem" }
    var namedKey: String { directory + "/named.key" }
    var clientCert: String { directory + "/client.pem" }
    var clientKey: String { directory + "/client.key" }

    /// Made once for the whole test run.
    static let shared = Task { try await TestPKI.make() }

    static func make() async throws -> TestPKI {
        let directory = NSTemporaryDirectory() + "cachette-pki-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pki = TestPKI(directory: directory)
        for ca in ["ca"] {
            try await openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Cachette test \(ca)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", "\(directory)/\(ca).key", "-out", "\(directory)/\(ca).pem",
            ])
        }
        for (name, extensions) in [
            ("server", "subjectAltName=IP:127.0.0.1,DNS:upstream.test\nextendedKeyUsage=serverAuth"),
            ("named", "subjectAltName=DNS:upstream.test\nextendedKeyUsage=serverAuth"),
            ("client", "extendedKeyUsage=clientAuth"),
        ] {
            try await openssl([
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name)", "-keyout", "\(directory)/\(name).key", "-out",
                "\(directory)/\(name).csr",
            ])
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try await openssl([
                "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", pki.caFile, "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "\(directory)/\(name).ext", "-out", "\(directory)/\(name).pem",
            ])
        }
        return pki
    }

    private static func openssl(_ arguments: [String]) async throws {
        let result = try await Subprocess.run("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw PostgresCluster.Failure(description: "openssl \(arguments[0]) failed: \(result.stderr)") }
    }

    /// The upstream's side: its certificate, and, with `requireClientCertificate`, only
    /// clients whose certificate this CA signed.
    /// `named`: the certificate for `upstream.test` alone.
    func serverTLS(named: Bool = false, requireClientCertificate: Bool = false) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(named ? namedCert : serverCert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: named ? namedKey : serverKey, format: .pem))
        )
        if requireClientCertificate {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        return tls
    }
}
