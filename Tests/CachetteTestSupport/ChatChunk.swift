/// OpenAI chat-completion stream chunks, as an upstream sends them.
package enum ChatChunk {
    /// One chunk's JSON: `choices` is the inside of its array, `usage` an object.
    package static func json(_ choices: String, usage: String? = nil, id: String = "c", created: Int = 1) -> String {
        let tail = usage.map { #","usage":\#($0)"# } ?? ""
        return #"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"gpt-4o","choices":[\#(choices)]\#(tail)}"#
    }

    /// The same chunk as one SSE event.
    package static func event(_ choices: String, usage: String? = nil) -> String {
        "data: " + json(choices, usage: usage) + "\n\n"
    }
}
