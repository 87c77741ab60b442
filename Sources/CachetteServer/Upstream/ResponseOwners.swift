import CachetteCore
import NIOCore
import Synchronization

/// Which upstream made each recent Responses answer, by its id, so that
/// `GET /v1/responses/{id}`, `DELETE`, `…/cancel` and `…/input_items`, which name no
/// model, go back to the upstream that holds the response. Bounded: the oldest ids
/// are forgotten first, and a forgotten id (or one made before a restart) goes to
/// the `default` upstream.
final class ResponseOwners: Sendable {
    private struct State {
        var owners: [String: String] = [:]
        /// Ids in the order they were noted, as a ring.
        var order: [String] = []
        var next = 0
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    /// Notes the id of a Responses answer (its JSON body) as made by `upstream`.
    func note(answer: ByteBuffer, upstream: String) {
        guard let id = answer.withUnsafeReadableBytes({ JSONValue.member("id", of: $0) })?.stringValue, !id.isEmpty else { return }
        state.withLock { s in
            if s.owners.updateValue(upstream, forKey: id) != nil { return }
            if s.order.count < capacity {
                s.order.append(id)
            } else {
                s.owners[s.order[s.next]] = nil
                s.order[s.next] = id
                s.next = (s.next + 1) % capacity
            }
        }
    }

    /// The upstream that made the response a `/v1/responses/{id}…` path names, if known.
    func owner(ofPath path: String) -> String? {
        let prefix = "/v1/responses/"
        guard path.hasPrefix(prefix) else { return nil }
        let id = path.dropFirst(prefix.count).prefix { $0 != "/" }
        guard !id.isEmpty else { return nil }
        return state.withLock { $0.owners[String(id)] }
    }
}
