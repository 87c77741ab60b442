import Yams

extension CachetteConfig {
    /// `telemetry:`: OpenTelemetry traces over OTLP/HTTP, off until an endpoint is set.
    package struct Telemetry: Sendable {
        /// Where spans are POSTed (`<otlp_endpoint>/v1/traces`); nil: off.
        package var tracesEndpoint: String?
        /// The `service.name` resource attribute.
        package var serviceName = "cachette"
    }
}

extension ConfigLoader {
    static func applyTelemetry(_ node: Node, _ telemetry: inout CachetteConfig.Telemetry) throws(ConfigError) {
        for (name, value) in try mapping(node, "telemetry") {
            let key = "telemetry.\(name)"
            switch name {
            case "otlp_endpoint":
                let base = try string(value, key)
                if base.isEmpty {
                    telemetry.tracesEndpoint = nil
                } else {
                    try checkURL(base, key)
                    telemetry.tracesEndpoint = tracesURL(base)
                }
            case "service_name":
                let text = try string(value, key)
                guard !text.isEmpty else { throw ConfigError(key, "must not be empty") }
                telemetry.serviceName = text
            default: throw unknown(key)
            }
        }
    }

    /// The standard variables win over the file, as OpenTelemetry's SDKs have them:
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (a base:
    /// `/v1/traces` is added), `OTEL_SERVICE_NAME`, and `OTEL_SDK_DISABLED=true` (off).
    static func applyTelemetryEnvironment(_ env: [String: String], to telemetry: inout CachetteConfig.Telemetry) throws(ConfigError) {
        if let traces = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty {
            try checkURL(traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            telemetry.tracesEndpoint = traces
        } else if let base = env["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            try checkURL(base, "OTEL_EXPORTER_OTLP_ENDPOINT")
            telemetry.tracesEndpoint = tracesURL(base)
        }
        if let name = env["OTEL_SERVICE_NAME"], !name.isEmpty { telemetry.serviceName = name }
        if env["OTEL_SDK_DISABLED"]?.lowercased() == "true" { telemetry.tracesEndpoint = nil }
    }

    private static func tracesURL(_ base: String) -> String {
        base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
    }
}
