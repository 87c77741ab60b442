import CBuildInfo

public enum CachetteVersion {
    public static let current = "0.1.0"
    /// The commit built from, as `make` found it (`-dirty` with uncommitted changes).
    public static let commit = String(cString: cachette_build_commit())
    /// What `cachette --version` prints.
    public static let description = "\(current) (commit \(commit))"
}
