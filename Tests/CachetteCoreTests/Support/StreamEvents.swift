@testable import CachetteCore
import NIOCore
import Synchronization
import Testing

func events(_ texts: [String], usageAt: Int? = nil) -> [StreamRecorder.Event] {
    texts.enumerated().map { StreamRecorder.Event(bytes: ByteBuffer(string: $1), isUsage: $0 == usageAt) }
}

func strings(_ next: StreamBroadcast.Next) -> [String]? {
    guard case .events(let batch) = next else { return nil }
    return batch.map { String(buffer: $0) }
}
