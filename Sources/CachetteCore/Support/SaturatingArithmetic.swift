extension Int {
    /// `self + other`, held at the bounds instead of trapping: sums of counts read from
    /// files and databases must not crash the server, and a wrapped sum would look right.
    package func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}

extension Int {
    /// `value` rounded toward zero, held at the bounds, NaN as 0: `Int(_:)` traps on a
    /// time or count read from a file or a database that is out of range.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.2e18 {
            self = .max
        } else if value <= -9.2e18 {
            self = .min
        } else {
            self = Int(value)
        }
    }
}
