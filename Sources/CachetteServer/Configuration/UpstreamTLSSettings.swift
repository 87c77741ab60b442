/// `tls:` of an upstream, or of `upstream:` for every upstream: what the upstream's
/// certificate is checked against, and the certificate the sidecar shows it. Each
/// field an upstream leaves unset comes from `upstream.tls`.
public struct UpstreamTLSSettings: Sendable, Equatable {
    /// PEM file of CAs trusted besides the system's roots.
    public var caFile: String?
    /// False checks nothing: anyone on the path can read and change the traffic.
    public var verify: Bool?
    /// PEM certificate (chain) and key for upstreams that ask for a client certificate.
    public var clientCert: String?
    public var clientKey: String?
    /// The name the certificate must carry, and the one sent as SNI and `Host`,
    /// when `base_url` names the machine otherwise (an IP, an alias).
    public var serverName: String?

    public init() {}

    /// These settings, with each unset field taken from `defaults`.
    public func over(_ defaults: UpstreamTLSSettings) -> UpstreamTLSSettings {
        var merged = self
        merged.caFile = caFile ?? defaults.caFile
        merged.verify = verify ?? defaults.verify
        merged.clientCert = clientCert ?? defaults.clientCert
        merged.clientKey = clientKey ?? defaults.clientKey
        merged.serverName = serverName ?? defaults.serverName
        return merged
    }
}
