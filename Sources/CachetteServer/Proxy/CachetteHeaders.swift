import HTTPTypes

/// Header names the sidecar reads or writes, built once.
enum CachetteHeaders {
    static let xCache = HTTPField.Name("X-Cache")!
    static let key = HTTPField.Name("x-cachette-key")!
    static let ttl = HTTPField.Name("x-cachette-ttl")!
    static let xAPIKey = HTTPField.Name("x-api-key")!
    static let azureAPIKey = HTTPField.Name("api-key")!
}
