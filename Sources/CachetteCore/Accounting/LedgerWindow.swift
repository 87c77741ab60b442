/// How far back a figure looks: `/stats?window=`.
public enum LedgerWindow: String, Sendable, CaseIterable {
    case hour = "1h"
    case day = "24h"
    case week = "7d"
    case all

    public var seconds: Double? {
        switch self {
        case .hour: 3600
        case .day: 86400
        case .week: 7 * 86400
        case .all: nil
        }
    }
}
