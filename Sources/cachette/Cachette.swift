import ArgumentParser
import CachetteServer

@main
struct Cachette: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cachette",
        abstract: "A caching sidecar for LLM APIs (OpenAI and Anthropic wire formats).",
        version: CachetteVersion.description,
        subcommands: [Serve.self, Stats.self, Cache.self, Tokens.self, Compress.self],
        defaultSubcommand: Serve.self
    )
}
