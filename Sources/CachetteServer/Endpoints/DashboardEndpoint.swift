import CachetteCore
import Foundation
import Hummingbird

/// `GET /` and `/dashboard`: the savings page, with its script and style sheet. Three
/// package resources read once at start; the page asks only this sidecar for data, and
/// its Content-Security-Policy forbids anything else (no other origin, no inline code,
/// no framing).
struct DashboardEndpoint: Sendable {
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
    }

    /// Nil when the package's resources are not installed beside the binary: the page
    /// then answers that, and the rest of the sidecar serves on.
    let page: Asset?
    let script: Asset?
    let style: Asset?

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    init() {
        func load(_ name: String, _ ext: String, _ contentType: String) -> Asset? {
            guard let url = ResourceBundle.url("CachetteServer", name, ext, subdirectory: "dashboard"), let data = try? Data(contentsOf: url)
            else { return nil }
            return Asset(body: ByteBuffer(bytes: data), contentType: contentType)
        }
        page = try load("index", "html", "text/html; charset=utf-8")
        script = try load("app", "js", "text/javascript; charset=utf-8")
        style = try load("app", "css", "text/css; charset=utf-8")
    }

    func addRoutes(to router: Router<some RequestContext>) {
        for path in ["/", "/dashboard"] {
            router.get(RouterPath(path)) { _, _ in response(page) }
        }
        router.get("/dashboard/app.js") { _, _ in response(script) }
        router.get("/dashboard/app.css") { _, _ in response(style) }
    }

    func response(_ asset: Asset?) -> Response {
        guard let asset else {
            return APIError(
                status: .internalServerError,
                message: "The dashboard's files are not installed beside this binary (its Cachette_CachetteServer.resources folder).",
                type: "server_error", code: "dashboard_unavailable"
            ).response
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: asset.contentType,
                .cacheControl: "no-cache",
                .contentSecurityPolicy: Self.contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                CachetteHeaders.frameOptions: "DENY",
                CachetteHeaders.referrerPolicy: "no-referrer",
            ],
            body: .init(byteBuffer: asset.body))
    }
}
