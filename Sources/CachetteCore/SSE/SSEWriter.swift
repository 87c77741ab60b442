/// Writes one server-sent event carrying a JSON value: `event: <name>` when named
/// (Anthropic's events), then `data: <json>` and the blank line that ends it.
package enum SSEWriter {
    public static func append(_ data: JSONValue, name: String? = nil, to out: inout [UInt8]) {
        if let name {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        out.append(contentsOf: "data: ".utf8)
        data.write(into: &out)
        out.append(contentsOf: "\n\n".utf8)
    }
}
