import CachetteServer

/// The config loader on any YAML: a configuration or a ConfigError, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var config = CachetteConfig()
    if (try? ConfigLoader.apply(yaml: yaml, to: &config, environment: ["KEY": "sk-x"])) != nil {
        _ = try? ConfigLoader.validate(config)
    }
    return 0
}
