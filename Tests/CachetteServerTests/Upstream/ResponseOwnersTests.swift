import HTTPTypes
import NIOCore
import Testing

@testable import CachetteServer

@Suite("Which upstream made a response")
struct ResponseOwnersTests {
    static func answer(_ id: String) -> ByteBuffer { ByteBuffer(string: #"{"id":"\#(id)","object":"response"}"#) }
    static func owners(capacity: Int = 10_000) -> ResponseOwners {
        ResponseOwners(scope: RequestScope(cache: CachetteConfig.Cache()), capacity: capacity)
    }
    static func headers(_ key: String) -> HTTPFields { [.authorization: "Bearer \(key)"] }

    @Test("an id names its upstream for the paths about it; the oldest ids are forgotten first")
    func bounded() {
        let owners = Self.owners(capacity: 3)
        let me = owners.tenant(of: Self.headers("sk-me"))
        for n in 1...3 { owners.note(answer: Self.answer("resp_\(n)"), upstream: "u\(n)", for: me) }
        #expect(owners.owner(ofPath: "/v1/responses/resp_1", for: me) == "u1")
        #expect(owners.owner(ofPath: "/v1/responses/resp_2/input_items", for: me) == "u2")
        #expect(owners.owner(ofPath: "/v1/responses/resp_3/cancel", for: me) == "u3")
        owners.note(answer: Self.answer("resp_4"), upstream: "u4", for: me)
        #expect(owners.owner(ofPath: "/v1/responses/resp_1", for: me) == nil, "the oldest went")
        #expect(owners.owner(ofPath: "/v1/responses/resp_4", for: me) == "u4")
        // An id answered again, by another upstream, stays its first upstream's and takes no room.
        owners.note(answer: Self.answer("resp_2"), upstream: "u9", for: me)
        #expect(owners.owner(ofPath: "/v1/responses/resp_2", for: me) == "u2")
        #expect(owners.owner(ofPath: "/v1/responses/resp_3", for: me) == "u3")
    }

    @Test("an upstream that repeats another tenant's id owns it only for the tenant it answered")
    func perTenant() {
        let owners = Self.owners()
        let (victim, attacker) = (owners.tenant(of: Self.headers("sk-victim")), owners.tenant(of: Self.headers("sk-attacker")))
        #expect(victim != attacker)
        owners.note(answer: Self.answer("resp_v"), upstream: "hostile", for: attacker)
        owners.note(answer: Self.answer("resp_v"), upstream: "openai", for: victim)
        #expect(owners.owner(ofPath: "/v1/responses/resp_v", for: victim) == "openai")
        #expect(owners.owner(ofPath: "/v1/responses/resp_v", for: attacker) == "hostile")
        #expect(owners.owner(ofPath: "/v1/responses/resp_v", for: owners.tenant(of: [:])) == nil, "a keyless client knows nothing")
    }

    @Test("paths and answers without an id name no upstream")
    func noID() {
        let owners = Self.owners()
        let me = owners.tenant(of: Self.headers("sk-me"))
        owners.note(answer: ByteBuffer(string: #"{"object":"response"}"#), upstream: "u", for: me)
        owners.note(answer: ByteBuffer(string: "not json"), upstream: "u", for: me)
        owners.note(answer: Self.answer(""), upstream: "u", for: me)
        for path in ["/v1/responses", "/v1/responses/", "/v1/models/resp_1", "/v1/responses//x"] {
            #expect(owners.owner(ofPath: path, for: me) == nil, "\(path)")
        }
    }
}
