import Testing

@testable import CachetteShared

@Suite("Shared tier URLs")
struct SharedURLTests {
    @Test("a URL's parts, percent-decoded; sslmode and sslrootcert understood")
    func parts() throws {
        let url = try SharedURL("postgres://app%40corp:p%3Ass@db.internal:6543/llm%20cache?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(url.username == "app@corp" && url.password == "p:ss" && url.host == "db.internal" && url.port == 6543)
        #expect(url.database == "llm cache" && url.tls == .verifyFull && url.rootCertificate == "/etc/ca.pem")
        let plain = try SharedURL("postgresql://app@localhost")
        #expect(plain.port == 5432 && plain.password == nil && plain.database == nil && plain.tls == .prefer)
        #expect(try SharedURL("postgres://u@h/d?sslmode=allow").tls == .prefer)
    }

    @Test("the password never shows: redacted, description, and scrubbed from other text")
    func redaction() throws {
        let url = try SharedURL("postgres://app:correct-horse@db:5432/cache?sslmode=disable")
        #expect(url.redacted == "postgres://app:***@db:5432/cache?sslmode=disable")
        #expect("\(url)" == url.redacted)
        #expect(url.redact("password authentication failed: correct-horse") == "password authentication failed: ***")
        #expect(try SharedURL("postgres://app@db/cache").redacted == "postgres://app@db:5432/cache")
    }

    @Test(
        "bad URLs are refused with a reason that holds no password",
        arguments: [
            "mysql://u:pw-123@h/d", "postgres://u:pw-123@/d", "postgres://:pw-123@h/d", "postgres://u:pw-123@h:0/d",
            "postgres://u:pw-123@h/d?sslmode=always", "postgres://u:pw-123@h/d?application_name=x", "not a url",
        ])
    func refused(text: String) {
        #expect {
            try SharedURL(text)
        } throws: { error in
            !"\(error)".contains("pw-123")
        }
    }
}
