@testable import CachetteCore
import NIOCore
import Testing

@Suite("Conversions that saturate instead of trapping")
struct SaturatingTests {
    @Test(
        "a Double becomes an Int held at the bounds, NaN as 0",
        arguments: [
            (1e300, Int.max), (-1e300, Int.min), (Double.infinity, Int.max), (Double.nan, 0), (41.9, 41), (-41.9, -41),
        ])
    func int(value: Double, expected: Int) {
        #expect(Int(saturating: value) == expected)
    }

    @Test("a Duration becomes NIO's nanoseconds held at Int64's bounds: a 10^12-second timeout schedules")
    func timeAmount() {
        #expect(TimeAmount.saturating(.seconds(1_000_000_000_000)) == .nanoseconds(.max))
        #expect(TimeAmount.saturating(.seconds(-1_000_000_000_000)) == .nanoseconds(.min))
        #expect(TimeAmount.saturating(.milliseconds(1500)) == .milliseconds(1500))
        #expect(TimeAmount.saturating(.nanoseconds(7)) == .nanoseconds(7))
    }

    @Test(
        "seconds read from a database become a duration held to 0...limit",
        arguments: [
            (Double.infinity, 1.0), (Double.nan, 0.0), (-5.0, 0.0), (0.25, 0.25), (1e300, 1.0),
        ])
    func clamped(seconds: Double, expected: Double) {
        #expect(Duration.clamped(seconds: seconds, upTo: .seconds(1)).seconds == expected)
    }

    @Test("under a limit longer than Int64 nanoseconds hold (a timeout of 10^12 s), a stored 10^11 s does not trap")
    func clampedUnderAHugeLimit() {
        let held = Duration.clamped(seconds: 1e11, upTo: .seconds(1_000_000_000_000))
        #expect(held >= .seconds(9_000_000_000) && held <= .seconds(1e11))
        #expect(Duration.clamped(seconds: .infinity, upTo: .seconds(1_000_000_000_000)) == .seconds(1_000_000_000_000))
    }
}
