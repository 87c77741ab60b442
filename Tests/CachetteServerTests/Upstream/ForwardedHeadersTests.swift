import CachetteCore
@testable import CachetteServer
import HTTPTypes
import NIOHTTP1
import Testing

@Suite("Forwarded headers, without a socket")
struct ForwardedHeadersTests {
    static let upstream = CachetteConfig.Upstream(name: "default", baseURL: "https://api.example/v1")

    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    @Test("hop-by-hop headers, those Connection names, x-cachette-* and Accept-Encoding stay behind")
    func dropped() {
        let out = ForwardedHeaders.request(
            Self.fields([
                ("Connection", "x-secret-hop"), ("x-secret-hop", "1"), ("Keep-Alive", "5"), ("TE", "trailers"),
                ("x-cachette-ttl", "60"), ("Accept-Encoding", "gzip"), ("Authorization", "Bearer sk-a"), ("X-Custom", "kept"),
            ]), upstream: Self.upstream)
        #expect(out["x-secret-hop"].isEmpty && out["keep-alive"].isEmpty && out["te"].isEmpty && out["connection"].isEmpty)
        #expect(out["x-cachette-ttl"].isEmpty && out["accept-encoding"].isEmpty)
        #expect(out["authorization"] == ["Bearer sk-a"] && out["x-custom"] == ["kept"])
    }

    @Test("an upstream's api_key replaces every credential the client sent, x-goog-api-key included")
    func upstreamKeyReplaces() {
        var upstream = CachetteConfig.Upstream(name: "default", baseURL: "https://api.example/v1", apiKey: "sk-route")
        upstream.headers = [.init(name: "x-route", value: "1")]
        let out = ForwardedHeaders.request(
            Self.fields([
                ("Authorization", "Bearer sk-client"), ("x-api-key", "k"), ("api-key", "a"), ("x-goog-api-key", "g"), ("x-route", "client"),
            ]), upstream: upstream)
        #expect(out["authorization"] == ["Bearer sk-route"])
        #expect(out["x-api-key"].isEmpty && out["api-key"].isEmpty && out["x-goog-api-key"].isEmpty)
        #expect(out["x-route"] == ["1"], "the upstream's headers win over the client's")
    }

    @Test("translated: the bearer token goes to Anthropic as x-api-key, with a default anthropic-version")
    func translated() {
        let anthropic = CachetteConfig.Upstream(name: "anthropic", baseURL: "https://api.anthropic.com/v1", format: .anthropic, models: ["claude-*"])
        let out = ForwardedHeaders.request(Self.fields([("Authorization", "Bearer sk-ant-x")]), upstream: anthropic, translated: true)
        #expect(out["x-api-key"] == ["sk-ant-x"] && out["authorization"].isEmpty)
        #expect(out["anthropic-version"] == [APIProvider.anthropicVersion])
    }

    @Test("answers: hop-by-hop and the upstream's own CORS grants are dropped")
    func answers() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Access-Control-Allow-Origin", value: "*")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "x-request-id", value: "r1")
        let out = ForwardedHeaders.response(headers)
        #expect(out[.contentType] == "application/json" && out[HTTPField.Name("x-request-id")!] == "r1")
        #expect(out[.accessControlAllowOrigin] == nil && out[HTTPField.Name("transfer-encoding")!] == nil)
    }
}
