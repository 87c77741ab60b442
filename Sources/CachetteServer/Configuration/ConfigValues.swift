/// Parsers for the value kinds the config file uses, shared by the file, the
/// environment and the CLI so each accepts the same spellings.
public enum ConfigValues {
    /// `90`, `90s`, `500ms`, `15m`, `24h`, `7d`. A bare number is seconds.
    public static func duration(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: " ")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            // "ms" also ends in "s": let the longer unit win.
            if suffix == "s" && number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return .milliseconds(Int64((value * scale * 1000).rounded()))
        }
        guard let value = Double(t), value >= 0, value.isFinite else { return nil }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// `1048576`, `512KB`, `64MiB`, `1GiB`, `2GB`. KB/MB/GB are powers of ten, KiB/MiB/GiB of two.
    public static func byteSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: " ")
        let units: [(String, Double)] = [
            ("KiB", 0x1p10), ("MiB", 0x1p20), ("GiB", 0x1p30), ("TiB", 0x1p40),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("K", 0x1p10), ("M", 0x1p20), ("G", 0x1p30), ("B", 1),
        ]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let value = Double(t.dropLast(suffix.count).trimmingCharacters(in: " ")), value >= 0, value.isFinite else {
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
