/// Tools and tool choice, translated to Anthropic's forms.
extension MessagesRequestTranslator {
    static func translate(tool: JSONValue, at index: Int) throws(InvalidRequest) -> JSONValue {
        let path = "tools[\(index)]"
        guard tool["type"]?.stringValue == "function", let function = tool["function"] else {
            throw untranslatable("\(path).type", "only function tools translate to Anthropic tools")
        }
        guard let name = function["name"]?.stringValue else { throw invalid("\(path).function.name is missing.", param: "\(path).function.name") }
        var out: [JSONValue.Member] = [.init("name", .string(name))]
        if let description = function["description"], description != .null { out.append(.init("description", description)) }
        let schema = function["parameters"].flatMap { $0 == .null ? nil : $0 } ?? .object(["type": .string("object"), "properties": .object([])])
        out.append(.init("input_schema", schema))
        return withCacheControl(.object(out), from: tool)
    }

    static func translate(toolChoice: JSONValue) throws(InvalidRequest) -> JSONValue {
        switch toolChoice {
        case .string("auto"): return .object(["type": .string("auto")])
        case .string("required"): return .object(["type": .string("any")])
        case .string("none"): return .object(["type": .string("none")])
        default:
            if toolChoice["type"]?.stringValue == "function", let name = toolChoice["function"]?["name"]?.stringValue {
                return .object(["type": .string("tool"), "name": .string(name)])
            }
            throw untranslatable("tool_choice", "only auto, required, none or a named function translate")
        }
    }
}
