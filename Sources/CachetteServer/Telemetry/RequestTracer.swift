import CachetteCore
import HTTPTypes
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces (`telemetry:`), exported over OTLP/HTTP by swift-otel. The
/// tracer is this sidecar's own, passed to the cached routes, never the process-global
/// one: sidecars in one process (the tests) keep their spans apart.
struct RequestTracer: Sendable {
    let tracer: any Tracer
    /// For a request's `gen_ai.provider.name` when no upstream is called (a hit).
    let upstreams: [CachetteConfig.Upstream]

    /// The tracer and the service that batches and exports its spans (run beside the
    /// server, so the last batch goes out on shutdown); nil while telemetry is off.
    static func make(
        _ settings: CachetteConfig.Telemetry, upstreams: [CachetteConfig.Upstream], logger: Logger
    ) throws -> (tracer: RequestTracer, service: any Service)? {
        guard let endpoint = settings.tracesEndpoint else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (RequestTracer(tracer: backend.factory, upstreams: upstreams), backend.service)
    }

    /// A request's trace: `operation` is its `gen_ai.operation.name`, `route` its path.
    func trace(operation: String, route: String, headers: HTTPFields) -> RequestTrace {
        RequestTrace(tracer: tracer, operation: operation, route: route, headers: headers)
    }

    func provider(for model: String) -> APIFormat? {
        CachetteConfig.upstream(for: model, in: upstreams)?.format
    }
}
