extension Int {
    /// `self + other`, held at the bounds instead of trapping: sums of counts read from
    /// files and databases must not crash the server, and a wrapped sum would look right.
    public func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}
