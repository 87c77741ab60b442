import CachetteCore
import Testing

@testable import CachetteServer

@Suite("Store policy")
struct StorePolicyTests {
    @Test(
        "only JSON media types may be stored, whatever their case, spacing or parameters",
        arguments: [
            ("application/json", true), ("Application/JSON; charset=utf-8", true), (" application/json ;q=1", true),
            ("application/vnd.api+json", true), ("APPLICATION/PROBLEM+JSON", true),
            ("text/html", false), ("application/jsonx", false), ("application/json-seq", false), ("application/+json", false),
            ("text/json", false), ("", false), ("application/x-ndjson", false),
        ])
    func jsonMediaTypes(contentType: String, json: Bool) {
        #expect(MediaType.isJSON(contentType) == json, "\(contentType)")
    }
}
