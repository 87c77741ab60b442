import CachetteCore

/// Request keying and canonical JSON: any bytes give a key or an error, never a trap;
/// a body that keys also canonicalizes, and its canonical form keys the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeying(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    let keyer = RequestKeyer()
    if let keyed = try? keyer.key(route: "/v1/chat/completions", scope: "s", body: body) {
        guard let canonical = try? CanonicalJSONWriter.canonicalize(body) else { fatalError("keyed but not canonical") }
        guard let again = try? keyer.key(route: "/v1/chat/completions", scope: "s", body: canonical), again.key == keyed.key else {
            fatalError("the canonical form keys differently")
        }
    }
    if let value = try? JSONValue.parse(body) {
        _ = value.serialized()
        _ = TokenUsage(usage: value["usage"] ?? .null)
        _ = AnswerShape.completion.problem(in: value)
    }
    _ = AnswerShape.message.problem(in: body)
    _ = JSONValue.member("model", of: body)
    return 0
}
