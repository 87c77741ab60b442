/// The text a model reads or writes in Responses items (`input`, `output`): message
/// parts, function-call arguments and outputs, reasoning summaries.
package enum ResponseItems {
    /// The item types whose text parts are prose (`input_text` in user messages,
    /// `output_text` in assistant ones, plain `text` from older clients).
    package static let textParts: Set<String> = ["text", "input_text", "output_text"]

    /// Every text in `items`: a string is one; an array gives each item's texts.
    public static func texts(of items: JSONValue?) -> [String] {
        switch items {
        case .string(let text)?: return [text]
        case .array(let list)?: return list.flatMap(texts(ofItem:))
        default: return []
        }
    }

    static func texts(ofItem item: JSONValue) -> [String] {
        switch item["type"]?.stringValue {
        case "function_call", "custom_tool_call": return [item["arguments"]?.stringValue ?? item["input"]?.stringValue].compactMap { $0 }
        case "function_call_output", "custom_tool_call_output": return content(item["output"])
        case "reasoning": return (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
        default: return content(item["content"])
        }
    }

    /// A string, or the text (and refusal) of each part.
    private static func content(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let text)?: return [text]
        case .array(let parts)?:
            return parts.compactMap { part in
                guard let type = part["type"]?.stringValue else { return nil }
                if textParts.contains(type) { return part["text"]?.stringValue }
                return type == "refusal" ? part["refusal"]?.stringValue : nil
            }
        default: return []
        }
    }
}
