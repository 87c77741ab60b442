@testable import CachetteServer
import CachetteCore
import Foundation
import Testing

@Suite("Grafana board")
struct GrafanaBoardTests {
    @Test("config/grafana/cachette.json: every query names series that /metrics exports")
    func queriesNameExportedSeries() async throws {
        let path = ConfigTests.repoRoot.appendingPathComponent("config/grafana/cachette.json").path
        let board = try JSONValue.parse(try String(contentsOfFile: path, encoding: .utf8))
        let panels = try #require(board["panels"]?.arrayValue)
        let queries = panels.flatMap { $0["targets"]?.arrayValue ?? [] }.compactMap { $0["expr"]?.stringValue }
        #expect(queries.count >= 10)
        for needed in ["hit ratio", "saved per hour", "spend per model", "latency quantiles"] {
            #expect(panels.contains { $0["title"]?.stringValue?.lowercased().contains(needed) == true }, "a panel for \(needed)")
        }
        try await Harness.run { h in
            _ = try await h.post()
            _ = try await h.post()
            let text = try await h.get("/metrics").text
            // Names as exported, with a histogram's series under its own names.
            var exported: Set<String> = []
            for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                exported.insert(String(parts[2]))
                if parts[3] == "histogram" { for suffix in ["_bucket", "_sum", "_count"] { exported.insert(parts[2] + suffix) } }
            }
            for query in queries {
                let names = query.matches(of: /cachette_[a-z_]+/).map { String($0.output) }
                #expect(!names.isEmpty, "\(query) reads Cachette's series")
                for name in names { #expect(exported.contains(name), "\(name) in \(query)") }
                // Every label the query filters or groups on is one the series carries.
                for label in query.matches(of: /(?:by \(|\{|,)\s*([a-z_]+)\s*(?:=~|=|\))/).map({ String($0.output.1) }) where label != "le" {
                    #expect(text.contains("\(label)=\""), "label \(label) in \(query)")
                }
            }
            #expect(board["templating"]?["list"]?.arrayValue?.first?["type"]?.stringValue == "datasource")
        }
    }
}
