import Foundation

/// Dollars for people, one rule wherever Cachette shows them (the dashboard's script
/// follows it too): 2 decimals from $1, 4 significant digits below, so a cached
/// answer worth $0.0001484 does not read as $0.00. JSON keeps full precision.
package enum Dollars {
    public static func format(_ amount: Double) -> String {
        guard amount.isFinite else { return "-" }
        let sign = amount < 0 ? "-" : ""
        let a = abs(amount)
        if a > 0 {
            let decimals = 3 - Int((log10(a)).rounded(.down))
            let scale = pow(10, Double(decimals))
            // Rounded to 4 significant digits it may reach $1: then the $1 rule applies.
            if (a * scale).rounded() / scale < 1 {
                return sign + "$" + String(format: "%.\(decimals)f", a)
            }
        }
        let cents = String(format: "%.2f", a)
        let whole = cents.prefix { $0 != "." }
        var grouped = ""
        for (i, c) in whole.enumerated() {
            if i > 0 && (whole.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        return sign + "$" + grouped + cents.drop { $0 != "." }
    }
}
