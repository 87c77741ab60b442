import CBuildInfo

package enum CachetteVersion {
    package static let current = "0.1.0"
    /// The commit built from, as `make` found it (`-dirty` with uncommitted changes).
    package static let commit = String(cString: cachette_build_commit())
    /// What `cachette --version` prints.
    package static let description = "\(current) (commit \(commit))"
}
