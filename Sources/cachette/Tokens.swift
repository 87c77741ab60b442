import ArgumentParser
import CachetteCore
import Foundation

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count the tokens of a file or of standard input, exactly as the model's tokenizer does.",
        discussion: """
            gpt-4o*, gpt-4.1*, gpt-5*, o1*, o3* and o4* use o200k_base; gpt-4* and gpt-3.5* use \
            cl100k_base. Any other model is counted with o200k_base and reported as estimated. \
            The text is counted as plain text, special-token strings included.
            """
    )

    @Option(help: ArgumentHelp("The model whose tokenizer to use.", valueName: "model"))
    var model = "gpt-4o"

    @Flag(help: "Print {\"tokens\",\"encoding\",\"estimated\"} as JSON.")
    var json = false

    @Argument(help: ArgumentHelp("The file to count, or - for standard input.", valueName: "file"))
    var file: String

    func run() throws {
        let data = try InputFile.read(file)
        guard let text = String(data: data, encoding: .utf8) else { InputFile.fail("\(file) is not UTF-8 text") }
        let count = try TokenCounter.count(text: text, model: model)
        if json {
            print(
                JSONValue.object([
                    "tokens": .int(count.tokens), "encoding": .string(count.encoding.rawValue), "estimated": .bool(count.estimated),
                ]).jsonString)
        } else {
            print("\(count.tokens) tokens (\(count.encoding.rawValue)\(count.estimated ? ", estimated: \(model) is not a known OpenAI model" : ""))")
        }
    }
}
