import CachetteCore
@testable import CachetteServer
import HTTPTypes
import Testing

@Suite("Per-request cache controls, without a socket")
struct CacheControlsTests {
    static func controls(_ pairs: [(HTTPField.Name, String)]) throws(APIError) -> CacheControls {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: name, value: value)) }
        return try CacheControls(fields)
    }

    @Test("Cache-Control directives, in any case and order, across header lines")
    func directives() throws {
        let c = try Self.controls([(.cacheControl, "No-Cache, max-age=0"), (.cacheControl, " no-store , stale-if-error=300")])
        #expect(c.noCache && c.noStore && c.staleIfError == 300)
        let none = try Self.controls([])
        #expect(!none.noCache && !none.noStore && none.staleIfError == nil && none.ttl == nil && none.compression == nil)
    }

    @Test("x-cachette-ttl reads whole seconds, 0 meaning do not store")
    func ttl() throws {
        #expect(try Self.controls([(CachetteHeaders.ttl, " 60 ")]).ttl == 60)
        let zero = try Self.controls([(CachetteHeaders.ttl, "0")])
        #expect(zero.ttl == 0 && zero.noStore)
    }

    @Test(
        "bad values are 400s naming the header",
        arguments: [
            (CachetteHeaders.ttl, "-1", "invalid_cache_ttl"), (CachetteHeaders.ttl, "1.5", "invalid_cache_ttl"),
            (CachetteHeaders.compress, "max", "invalid_compression_level"),
            (HTTPField.Name.cacheControl, "stale-if-error=soon", "invalid_cache_control"),
        ])
    func bad(name: HTTPField.Name, value: String, code: String) {
        #expect { try Self.controls([(name, value)]) } throws: { error in
            (error as? APIError)?.code == code && (error as? APIError)?.status == .badRequest
        }
    }

    @Test("x-cachette-compress levels, in any case")
    func compression() throws {
        #expect(try Self.controls([(CachetteHeaders.compress, "AGGRESSIVE")]).compression == .aggressive)
        #expect(try Self.controls([(CachetteHeaders.compress, "off")]).compression == .off)
    }
}
