/// Merges streamed deltas the way the official OpenAI SDK does (`accumulate_delta`):
/// strings concatenate, numbers add, objects merge recursively, lists of scalars
/// extend, lists of objects merge entry by entry on their `index`, and `index` and
/// `type` are replaced rather than accumulated. A null accumulated value is replaced.
package enum DeltaAccumulator {
    package enum Failure: Error, Equatable {
        case listEntryWithoutIndex
        case listEntryNotAnObject
        /// A list index that is not a whole number in `0...maxListIndex`.
        case listIndexOutOfRange
    }

    /// More tool calls than any answer makes; past it a stream is not kept.
    package static let maxListIndex = 1024

    /// Linear in the delta's size: each accumulated value is taken out of `acc` before
    /// it grows, so strings and lists are appended to in place.
    package static func accumulate(_ acc: inout [JSONValue.Member], _ delta: [JSONValue.Member]) throws(Failure) {
        for member in delta {
            guard let at = acc.firstIndex(where: { $0.key == member.key }) else {
                try checkIndices(member.value)
                acc.append(member)
                continue
            }
            if acc[at].value == .null || member.key == "index" || member.key == "type" {
                try checkIndices(member.value)
                acc[at].value = member.value
                continue
            }
            var current = acc[at].value.take()
            defer { acc[at].value = current }
            switch member.value {
            case .string(let b):
                guard case .string(var a) = current else { break }
                current = .null
                a += b
                current = .string(a)
            case .number(let b):
                guard case .number(let a) = current else { break }
                current = add(a, b)
            case .object(let b):
                guard case .object(var a) = current else { break }
                current = .null
                try accumulate(&a, b)
                current = .object(a)
            case .array(let b):
                guard case .array(var a) = current else { break }
                current = .null
                if a.allSatisfy(isScalar) {
                    a.append(contentsOf: b)
                } else {
                    for entry in b {
                        guard case .object(let entryMembers) = entry else { throw .listEntryNotAnObject }
                        let index = try listIndex(entry)
                        try checkIndices(entry)
                        if index < a.count, case .object = a[index] {
                            guard case .object(var existing) = a[index].take() else { continue }
                            try accumulate(&existing, entryMembers)
                            a[index] = .object(existing)
                        } else {
                            a.insert(entry, at: min(index, a.count))
                        }
                    }
                }
                current = .array(a)
            default:
                break  // mismatched kinds: the SDK keeps the accumulated value
            }
        }
    }

    /// A list entry's `index`: a whole number in `0...maxListIndex`.
    private static func listIndex(_ entry: JSONValue) throws(Failure) -> Int {
        guard let given = entry["index"] else { throw .listEntryWithoutIndex }
        guard let index = given.countValue, index <= maxListIndex else { throw .listIndexOutOfRange }
        return index
    }

    /// A value taken as it came (a member the accumulated answer does not have yet) is
    /// held to the rule later deltas are where it can be: an `index` on a list's entry
    /// (a tool call's) is a whole number in range, or the assembled answer would carry
    /// one no live answer has. Lists whose entries carry none (annotations) stay as they
    /// came, as before.
    private static func checkIndices(_ value: JSONValue) throws(Failure) {
        switch value {
        case .object(let members):
            for member in members where member.key != "index" { try checkIndices(member.value) }
        case .array(let items):
            for item in items where item.members != nil {
                if item["index"] != nil { _ = try listIndex(item) }
                try checkIndices(item)
            }
        default:
            break
        }
    }

    private static func isScalar(_ value: JSONValue) -> Bool {
        switch value {
        case .string, .number: true
        default: false
        }
    }

    private static func add(_ a: String, _ b: String) -> JSONValue {
        if let x = Int(a), let y = Int(b) {
            let (sum, overflow) = x.addingReportingOverflow(y)
            if !overflow { return .int(sum) }
        }
        return .double((Double(a) ?? 0) + (Double(b) ?? 0))
    }
}
