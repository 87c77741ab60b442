@testable import CachetteCore
import NIOCore
import Synchronization
import Testing

@Suite("Stream broadcast")
struct StreamBroadcastTests {
    @Test("a late joiner gets the backlog in one batch, then follows live, with the usage event only on request")
    func lateJoiner() async throws {
        let broadcast = StreamBroadcast(capacity: 1 << 20)
        let first = try #require(broadcast.subscribe(includeUsage: false))
        await broadcast.publish(events(["a", "b"]))
        #expect(strings(await broadcast.next(first)) == ["a", "b"])
        let late = try #require(broadcast.subscribe(includeUsage: true))
        await broadcast.publish(events(["u"], usageAt: 0))
        #expect(strings(await broadcast.next(late)) == ["a", "b", "u"])
        #expect(strings(await broadcast.next(first)) == [], "the usage chunk is filtered out, the position still moves")

        // A reader waiting for more is woken by the next publish.
        async let waiting = broadcast.next(first)
        try await Task.sleep(for: .milliseconds(20))
        await broadcast.publish(events(["c"]))
        #expect(strings(await waiting) == ["c"])
        broadcast.finish(trailer: ByteBuffer(string: "error"))
        guard case .end(let trailer) = await broadcast.next(first) else { Issue.record("expected the end"); return }
        #expect(trailer.map { String(buffer: $0) } == "error")
        #expect(strings(await broadcast.next(late)) == ["c"], "what is left comes before the end")
        guard case .end = await broadcast.next(late) else { Issue.record("expected the end"); return }
    }

    @Test("giving up the recording closes joining and drops what every reader has taken")
    func stopRetaining() async throws {
        let broadcast = StreamBroadcast(capacity: 1 << 20)
        let reader = try #require(broadcast.subscribe(includeUsage: false))
        await broadcast.publish(events(["a", "b"]))
        async let closed: Void = broadcast.closedToJoiners()
        broadcast.stopRetaining()
        await closed
        #expect(broadcast.subscribe(includeUsage: false) == nil)
        #expect(strings(await broadcast.next(reader)) == ["a", "b"])
        await broadcast.publish(events(["c"]))
        #expect(strings(await broadcast.next(reader)) == ["c"])
    }

    @Test("a reader a capacity behind that takes nothing is cut off while the fast one keeps going")
    func slowReaderIsCut() async throws {
        let broadcast = StreamBroadcast(capacity: 10)
        let slow = try #require(broadcast.subscribe(includeUsage: false))
        let fast = try #require(broadcast.subscribe(includeUsage: false))
        broadcast.stopRetaining()
        var cut = 0
        for i in 0..<6 {
            cut += await broadcast.publish(events(["xxxx\(i)"]), patience: .milliseconds(50))
            #expect(strings(await broadcast.next(fast)) == ["xxxx\(i)"])
        }
        #expect(cut == 1)
        guard case .cut = await broadcast.next(slow) else { Issue.record("the slow reader should be cut"); return }
        #expect(broadcast.readerCount == 1)
    }

    @Test("when even the fastest reader is a capacity behind, publishing waits for it")
    func backpressure() async throws {
        let broadcast = StreamBroadcast(capacity: 10)
        let reader = try #require(broadcast.subscribe(includeUsage: false))
        broadcast.stopRetaining()
        await broadcast.publish(events(["12345"]))
        let published = Mutex(false)
        let publishing = Task {
            defer { published.withLock { $0 = true } }
            return await broadcast.publish(events(["67890"]))
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!published.withLock { $0 }, "still waiting for the reader")
        #expect(strings(await broadcast.next(reader)) == ["12345", "67890"])
        #expect(await publishing.value == 0)
    }

    @Test("a reader that takes nothing for the patience period is cut, and the producer goes on")
    func patience() async throws {
        let broadcast = StreamBroadcast(capacity: 10)
        let stuck = try #require(broadcast.subscribe(includeUsage: false))
        let cut = await broadcast.publish(events(["0123456789ab"]), patience: .milliseconds(50))
        #expect(cut == 1)
        guard case .cut = await broadcast.next(stuck) else { Issue.record("expected a cut"); return }
    }

    @Test("a cancelled reader leaves, and the last to leave is reported")
    func leaving() async throws {
        let broadcast = StreamBroadcast(capacity: 1 << 20)
        let a = try #require(broadcast.subscribe(includeUsage: false))
        let b = try #require(broadcast.subscribe(includeUsage: false))
        let waiting = Task { await broadcast.next(a) }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        guard case .end(nil) = await waiting.value else { Issue.record("a cancelled wait ends"); return }
        #expect(broadcast.readerCount == 1)
        #expect(broadcast.leave(b))
    }
}
