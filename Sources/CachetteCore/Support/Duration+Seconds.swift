extension Duration {
    /// Whole and fractional seconds, for the places that want a Double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
