import ArgumentParser
import CachetteCore
import Foundation

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a chat, completions or Responses request the way the sidecar would, and show the tokens saved per message.",
        discussion: """
            Reads a request body (JSON with messages, a prompt, or a Responses input) and prints \
            the compressed body on standard output and a before/after token table on standard error. \
            A Responses request's items are numbered after its instructions, as the model reads them.
            """
    )

    @Option(help: ArgumentHelp("Compression level: off, safe or aggressive.", valueName: "level"))
    var level: String = "safe"

    @Option(help: ArgumentHelp("The model whose tokenizer counts the tokens (default: the request's model, else gpt-4o).", valueName: "model"))
    var model: String?

    @Option(help: ArgumentHelp("Shortest run of lines repeated from an earlier message, in tokens, replaced by a reference.", valueName: "tokens"))
    var dedupMinTokens = 64

    @Option(help: ArgumentHelp("At aggressive, a longer tool output is cut to its head and tail.", valueName: "tokens"))
    var maxToolOutputTokens = 4096

    @Flag(help: "Also rewrite system and developer messages.")
    var system = false

    @Argument(help: ArgumentHelp("The request file, or - for standard input.", valueName: "file"))
    var file: String

    func validate() throws {
        guard maxToolOutputTokens >= CompressionOptions.minimumToolOutputTokens else {
            throw ValidationError("--max-tool-output-tokens must be at least \(CompressionOptions.minimumToolOutputTokens)")
        }
        guard dedupMinTokens > 0 else { throw ValidationError("--dedup-min-tokens must be positive") }
    }

    func run() throws {
        guard let compressionLevel = CompressionLevel(rawValue: level) else {
            throw ValidationError("--level must be one of \(CompressionLevel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let data = try InputFile.read(file)
        guard var request = try? JSONValue.parse(data), request.members != nil else { InputFile.fail("\(file) is not a JSON request body") }
        let modelName = model ?? request["model"]?.stringValue ?? "gpt-4o"
        let tokenizer = try Tokenizer.shared(TokenEncoding.forModel(modelName).encoding)
        let compressor = PromptCompressor(
            options: CompressionOptions(
                level: compressionLevel, dedupMinTokens: dedupMinTokens, system: system, maxToolOutputTokens: maxToolOutputTokens
            ),
            tokenizer: tokenizer
        )
        let isResponses = request["messages"] == nil && request["prompt"] == nil
        guard let compression = isResponses ? compressor.compress(responsesRequest: &request) : compressor.compress(request: &request) else {
            InputFile.fail("the request has no messages, prompt string or Responses input")
        }
        let rows = compression.parts.map { ($0.label, $0.before, $0.after) }
        print(request.jsonString)
        FileHandle.standardError.write(Data(Self.table(rows).utf8))
    }

    static func table(_ rows: [(String, Int, Int)]) -> String {
        let total = rows.reduce((0, 0)) { ($0.0 + $1.1, $0.1 + $1.2) }
        let all =
            [("message", "before", "after", "saved")]
            + (rows + [("total", total.0, total.1)]).map { row in
                let saved = row.1 == 0 ? "0%" : String(format: "%.1f%%", Double(row.1 - row.2) * 100 / Double(row.1))
                return (TerminalText.escaped(row.0), String(row.1), String(row.2), saved)
            }
        let w0 = all.map(\.0.count).max()!, w1 = all.map(\.1.count).max()!, w2 = all.map(\.2.count).max()!, w3 = all.map(\.3.count).max()!
        func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: w - s.count) + s }
        return all.map { "\($0.0.padding(toLength: w0, withPad: " ", startingAt: 0))  \(right($0.1, w1))  \(right($0.2, w2))  \(right($0.3, w3))" }
            .joined(separator: "\n") + "\n"
    }
}
