import NIOCore
import Testing

@testable import CachetteServer

@Suite("Which upstream made a response")
struct ResponseOwnersTests {
    static func answer(_ id: String) -> ByteBuffer { ByteBuffer(string: #"{"id":"\#(id)","object":"response"}"#) }

    @Test("an id names its upstream for the paths about it; the oldest ids are forgotten first")
    func bounded() {
        let owners = ResponseOwners(capacity: 3)
        for n in 1...3 { owners.note(answer: Self.answer("resp_\(n)"), upstream: "u\(n)") }
        #expect(owners.owner(ofPath: "/v1/responses/resp_1") == "u1")
        #expect(owners.owner(ofPath: "/v1/responses/resp_2/input_items") == "u2")
        #expect(owners.owner(ofPath: "/v1/responses/resp_3/cancel") == "u3")
        owners.note(answer: Self.answer("resp_4"), upstream: "u4")
        #expect(owners.owner(ofPath: "/v1/responses/resp_1") == nil, "the oldest went")
        #expect(owners.owner(ofPath: "/v1/responses/resp_4") == "u4")
        // Noting a known id again moves nothing and takes no room.
        owners.note(answer: Self.answer("resp_2"), upstream: "u9")
        #expect(owners.owner(ofPath: "/v1/responses/resp_2") == "u9")
        #expect(owners.owner(ofPath: "/v1/responses/resp_3") == "u3")
    }

    @Test("paths and answers without an id name no upstream")
    func noID() {
        let owners = ResponseOwners()
        owners.note(answer: ByteBuffer(string: #"{"object":"response"}"#), upstream: "u")
        owners.note(answer: ByteBuffer(string: "not json"), upstream: "u")
        owners.note(answer: Self.answer(""), upstream: "u")
        for path in ["/v1/responses", "/v1/responses/", "/v1/models/resp_1", "/v1/responses//x"] {
            #expect(owners.owner(ofPath: path) == nil, "\(path)")
        }
    }
}
