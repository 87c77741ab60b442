import ServiceLifecycle

/// Closes the upstreams' connection pools, after everything shut down before it (the
/// server, and so every stream still relayed) has finished.
struct UpstreamClientService: Service {
    let client: UpstreamClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
