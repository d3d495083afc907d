import CofferKit
import Foundation
import HTTPTypes
import Hummingbird

extension API {
    /// What a request asks for, parsed from its path by hand: ids keep their
    /// slashes (`%2F` is read as one) and nothing may follow an id.
    enum Route {
        case openAPI
        case list
        case secret(SecretID)
        case history(SecretID)
        case revealLink(SecretID)
        case reveal(String)

        /// The methods each route answers, for 405's `Allow`.
        var methods: [HTTPRequest.Method] {
            switch self {
            case .openAPI, .list, .history, .reveal: return [.get]
            case .secret: return [.get, .put, .delete]
            case .revealLink: return [.post]
            }
        }

        /// Writes and histories: the dear requests, which also take from a token's write bucket.
        func isHeavy(_ method: HTTPRequest.Method) -> Bool {
            if case .history = self { return true }
            return method == .put || method == .delete
        }

        /// True for `GET /v1/secrets/{id}?reveal=true`, logged as such.
        func isReveal(_ request: Request) -> Bool {
            if case .secret = self, request.method == .get, request.uri.queryParameters["reveal"] == "true" { return true }
            return false
        }

        /// How the route is logged: never a reveal link's token.
        var logged: String {
            switch self {
            case .openAPI: return "/v1/openapi.yaml"
            case .list: return "/v1/secrets"
            case .secret(let id): return "/v1/secrets/\(id)"
            case .history(let id): return "/v1/history/\(id)"
            case .revealLink(let id): return "/v1/reveal-links/\(id)"
            case .reveal: return "/v1/reveal/…"
            }
        }
    }

    static func route(_ rawPath: String) throws -> Route {
        let notFound = ServeProblem(.notFound, "no such endpoint; see /v1/openapi.yaml")
        guard let path = rawPath.removingPercentEncoding, !path.contains("\0") else { throw ServeProblem(.badRequest, "the path is not valid") }
        if path == "/v1/openapi.yaml" { return .openAPI }
        if path == "/v1/secrets" { return .list }
        for (prefix, make) in [("/v1/secrets/", Route.secret), ("/v1/history/", Route.history), ("/v1/reveal-links/", Route.revealLink)] {
            if path.hasPrefix(prefix) { return make(try SecretID(String(path.dropFirst(prefix.count)))) }
        }
        if path.hasPrefix("/v1/reveal/") { return .reveal(String(path.dropFirst("/v1/reveal/".count))) }
        throw notFound
    }
}
