/// Parsers for the value kinds the config file uses, shared by the file, the
/// environment and the CLI so each accepts the same spellings.
package enum ConfigValues {
    /// `90`, `90s`, `500ms`, `15m`, `24h`, `7d`. A bare number is seconds.
    package static func duration(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: " ")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            // "ms" also ends in "s": let the longer unit win.
            if suffix == "s" && number.hasSuffix("m") { continue }
            return Double(number).flatMap { milliseconds($0 * scale * 1000) }
        }
        return Double(t).flatMap { milliseconds($0 * 1000) }
    }

    /// Nil past what a `Duration` of milliseconds holds (a typed 1e300d would trap).
    private static func milliseconds(_ value: Double) -> Duration? {
        guard value >= 0, value < 9e18 else { return nil }
        return .milliseconds(Int64(value.rounded()))
    }

    /// A duration as the config spells it: whole days, hours, minutes or seconds.
    package static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        for (suffix, scale) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where seconds >= scale && seconds % scale == 0 {
            return "\(seconds / scale)\(suffix)"
        }
        return "\(seconds)s"
    }

    /// `1048576`, `512KB`, `64MiB`, `1GiB`, `2GB`. KB/MB/GB are powers of ten, KiB/MiB/GiB of two.
    package static func byteSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: " ")
        let units: [(String, Double)] = [
            ("KiB", 0x1p10), ("MiB", 0x1p20), ("GiB", 0x1p30), ("TiB", 0x1p40),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("K", 0x1p10), ("M", 0x1p20), ("G", 0x1p30), ("B", 1),
        ]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let value = Double(t.dropLast(suffix.count).trimmingCharacters(in: " ")), value >= 0, value * scale < 9e18 else {
                return nil
            }
            return Int((value * scale).rounded())
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
