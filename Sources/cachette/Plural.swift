/// Counts as a person writes them: "1 entry", "2 entries".
enum Plural {
    static func count(_ n: Int, _ one: String, _ many: String) -> String {
        "\(n) \(n == 1 ? one : many)"
    }
}
