import NIOCore

extension Duration {
    /// Whole and fractional seconds, for the places that want a Double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

extension Duration {
    /// `seconds` as a duration held to `0...limit`, NaN as zero: a deadline read from a
    /// database (`'Infinity'`, say) must not trap on its way to a timer.
    package static func clamped(seconds: Double, upTo limit: Duration) -> Duration {
        guard seconds > 0 else { return .zero }
        guard seconds < limit.seconds else { return limit }
        // Under a limit past what Int64 nanoseconds hold (about 292 years), so is the value.
        return .nanoseconds(Int64(min(seconds, 9e9) * 1e9))
    }
}

extension TimeAmount {
    /// `duration` in NIO's nanoseconds, held at `Int64`'s bounds: `Double(seconds) * 1e9`
    /// trapped for a configured timeout past 292 years.
    package static func saturating(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .nanoseconds(seconds < 0 ? .min : .max) }
        let (sum, carry) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return .nanoseconds(carry ? .max : sum)
    }
}
