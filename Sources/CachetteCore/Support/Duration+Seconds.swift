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
    public static func clamped(seconds: Double, upTo limit: Duration) -> Duration {
        guard seconds > 0 else { return .zero }
        guard seconds < limit.seconds else { return limit }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
