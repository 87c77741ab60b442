import CachetteCore
import HTTPTypes
import NIOCore
import Synchronization

/// Which upstream made each recent Responses answer, by credential and id, so that
/// `GET /v1/responses/{id}`, `DELETE`, `…/cancel` and `…/input_items`, which name no
/// model, go back to the upstream that holds the response. Bounded: the oldest ids
/// are forgotten first, and a forgotten id (or one made before a restart) goes to
/// the `default` upstream.
///
/// An id is the upstream's word, so it proves nothing: the first upstream to answer
/// with an id keeps it, and only for the credential it answered. A hostile upstream
/// that repeats another tenant's id (or the same tenant's, on another model's route)
/// does not become where that id's requests, and their key, go.
final class ResponseOwners: Sendable {
    /// A credential, hashed: the table holds no key.
    struct Tenant: Sendable, Hashable {
        fileprivate let hash: CacheKey
    }

    private struct State {
        var owners: [CacheKey: String] = [:]
        /// Entries in the order they were noted, as a ring.
        var order: [CacheKey] = []
        var next = 0
    }

    private let state = Mutex(State())
    let capacity: Int
    /// Which headers carry the credential (`cache.credential_headers` included).
    private let scope: RequestScope

    init(scope: RequestScope, capacity: Int = 10_000) {
        self.scope = scope
        self.capacity = max(1, capacity)
    }

    /// The tenant a request's headers name: its credential, whatever `cache.scope` says.
    func tenant(of headers: HTTPFields) -> Tenant {
        Tenant(hash: CacheKey(hashing: Array(scope.credential(headers).utf8)))
    }

    /// Notes the id of a Responses answer (its JSON body) as made by `upstream` for
    /// `tenant`, unless an upstream already made that id for them.
    func note(answer: ByteBuffer, upstream: String, for tenant: Tenant) {
        guard let id = answer.withUnsafeReadableBytes({ JSONValue.member("id", of: $0) })?.stringValue, !id.isEmpty else { return }
        let entry = Self.entry(tenant, id)
        state.withLock { s in
            guard s.owners[entry] == nil else { return }
            s.owners[entry] = upstream
            if s.order.count < capacity {
                s.order.append(entry)
            } else {
                s.owners[s.order[s.next]] = nil
                s.order[s.next] = entry
                s.next = (s.next + 1) % capacity
            }
        }
    }

    /// The upstream that made, for `tenant`, the response a `/v1/responses/{id}…` path names, if known.
    func owner(ofPath path: String, for tenant: Tenant) -> String? {
        let prefix = "/v1/responses/"
        guard path.hasPrefix(prefix) else { return nil }
        let id = path.dropFirst(prefix.count).prefix { $0 != "/" }
        guard !id.isEmpty else { return nil }
        let entry = Self.entry(tenant, String(id))
        return state.withLock { $0.owners[entry] }
    }

    private static func entry(_ tenant: Tenant, _ id: String) -> CacheKey {
        var bytes = Array(tenant.hash.hex.utf8)
        bytes.append(0)
        bytes.append(contentsOf: id.utf8)
        return CacheKey(hashing: bytes)
    }
}
