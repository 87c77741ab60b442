@testable import CachetteCore
import Foundation
import Logging
import Testing

@Suite("Dollars for people")
struct DollarsTests {
    @Test("2 decimals from $1, 4 significant digits below, grouped thousands")
    func rule() {
        let cases: [(Double, String)] = [
            (0, "$0.00"), (1, "$1.00"), (1234.5, "$1,234.50"), (1_234_567.891, "$1,234,567.89"), (0.5, "$0.5000"),
            (0.0001484, "$0.0001484"), (0.0000975, "$0.00009750"), (0.00001234567, "$0.00001235"), (0.99996, "$1.00"),
            (-0.25, "-$0.2500"), (-12.345, "-$12.35"), (.infinity, "-"), (.nan, "-"),
        ]
        for (amount, expected) in cases {
            #expect(Dollars.format(amount) == expected, "\(amount)")
        }
    }
}
