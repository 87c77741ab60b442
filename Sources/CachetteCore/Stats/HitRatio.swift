/// The one definition of the hit ratio, for /stats, its per-model rows, the cluster's
/// figures, the dashboard and `cachette stats`: of the requests the cache could have
/// answered and the upstream did, the share the cache answered. Stale answers,
/// bypasses, refusals and upstream errors are neither: none says how well the cache
/// keeps what is asked for again.
package enum HitRatio {
    /// `hits / (hits + misses)`, 0 when both are 0; rounded to 4 places as every surface shows it.
    public static func of(hits: Int, misses: Int) -> Double {
        let hits = max(0, hits)
        let asked = hits.addingSaturated(max(0, misses))
        guard asked > 0 else { return 0 }
        return (Double(hits) / Double(asked) * 10000).rounded() / 10000
    }
}
