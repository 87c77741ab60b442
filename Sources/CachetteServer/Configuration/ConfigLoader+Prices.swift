import CachetteCore
import Foundation
import Logging
import Yams

/// Price tables: the shipped one, `pricing.file`, and `pricing.models`.
extension ConfigLoader {
    /// A pricing file: `models:` mapping names or patterns to `{input, output, cached_input, cache_write, cache_write_1h}`.
    static func priceFile(_ path: String, key: String) throws(ConfigError) -> [String: ModelPrice] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key, "cannot read \(path)")
        }
        return try priceYAML(text, key: key)
    }

    static func priceYAML(_ text: String, key: String) throws(ConfigError) -> [String: ModelPrice] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(key, "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root else { return [:] }
        var table: [String: ModelPrice] = [:]
        for (name, value) in try mapping(root, key) {
            guard name == "models" else { throw ConfigError("\(key): \(name)", "unknown setting (expected models)") }
            table.merge(try prices(value, "\(key): models")) { $1 }
        }
        return table
    }

    static func prices(_ node: Node, _ key: String) throws(ConfigError) -> [String: ModelPrice] {
        var table: [String: ModelPrice] = [:]
        for (model, entry) in try mapping(node, key) {
            let entryKey = "\(key).\(model)"
            var input: Double?, output: Double?, cached: Double?, written: Double?, hour: Double?
            for (field, value) in try mapping(entry, entryKey) {
                let text = try scalar(value, "\(entryKey).\(field)")
                guard let number = Double(text), number >= 0, number.isFinite else {
                    throw ConfigError("\(entryKey).\(field)", "expected a price in dollars per million tokens, got \"\(text)\"")
                }
                switch field {
                case "input": input = number
                case "output": output = number
                case "cached_input": cached = number
                case "cache_write": written = number
                case "cache_write_1h": hour = number
                default: throw unknown("\(entryKey).\(field)")
                }
            }
            guard let input, let output else { throw ConfigError(entryKey, "needs both input and output prices") }
            table[model] = ModelPrice(input: input, output: output, cachedInput: cached, cacheWrite: written, cacheWrite1h: hour)
        }
        return table
    }
}
