/// `tls:` of an upstream, or of `upstream:` for every upstream: what the upstream's
/// certificate is checked against, and the certificate the sidecar shows it. Each
/// field an upstream leaves unset comes from `upstream.tls`.
package struct UpstreamTLSSettings: Sendable, Equatable {
    /// PEM file of CAs trusted besides the system's roots.
    package var caFile: String?
    /// False checks nothing: anyone on the path can read and change the traffic.
    package var verify: Bool?
    /// PEM certificate (chain) and key for upstreams that ask for a client certificate.
    package var clientCert: String?
    package var clientKey: String?
    /// The name the certificate must carry, and the one sent as SNI and `Host`,
    /// when `base_url` names the machine otherwise (an IP, an alias).
    package var serverName: String?

    package init() {}

    /// These settings, with each unset field taken from `defaults`.
    package func over(_ defaults: UpstreamTLSSettings) -> UpstreamTLSSettings {
        var merged = self
        merged.caFile = caFile ?? defaults.caFile
        merged.verify = verify ?? defaults.verify
        merged.clientCert = clientCert ?? defaults.clientCert
        merged.clientKey = clientKey ?? defaults.clientKey
        merged.serverName = serverName ?? defaults.serverName
        return merged
    }
}
