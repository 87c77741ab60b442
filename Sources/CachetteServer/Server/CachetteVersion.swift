public enum CachetteVersion {
    public static let current = "0.1.0"
}
