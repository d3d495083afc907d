import Age
import CofferKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Posix

/// The `/v1` API of SPEC section 6. Paths are parsed here rather than by a
/// router: ids keep their slashes and nothing may follow an id. Every
/// answer is JSON, or `application/problem+json` for a refusal; each
/// request is logged once, after it is answered (`ServerLog`).
struct API: HTTPResponder {
    typealias Context = BasicRequestContext

    let service: VaultService
    let limits: RateLimits
    let links: RevealLinks
    let log: ServerLog

    /// A value is at most 64 KiB (`Call.valueLimit`); its body, escaped as JSON, up to six times that.
    static let bodyLimit = 6 * Call.valueLimit + 1024
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

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

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = Monotonic.seconds()
        var who = "-"
        var logged = "(unknown path)"
        let response: Response
        do {
            let route = try API.route(request.uri.path)
            logged = route.logged
            guard route.methods.contains(request.method) else {
                throw ServeProblem(.methodNotAllowed, "\(request.method) is not allowed here",
                                   headers: [.allow: route.methods.map(\.rawValue).joined(separator: ", ")])
            }
            if route.isReveal(request) { logged += "?reveal=true" }
            response = try await handle(route, request, who: &who)
        } catch {
            let problem = ServeProblem.of(error)
            if problem.status.code >= 500 { log.warning("\(request.method) \(logged): \(problem.detail)") }
            response = problem.response
        }
        let milliseconds = String(format: "%.1f", (Monotonic.seconds() - started) * 1000)
        log.info("\(request.method) \(logged) \(response.status.code) \(milliseconds) ms token=\(who)")
        return response
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

    private func handle(_ route: Route, _ request: Request, who: inout String) async throws -> Response {
        switch route {
        case .openAPI:
            return API.respond(.ok, OpenAPIDocument.text, type: "application/yaml")
        case .reveal(let link):
            return try await redeem(link, who: &who)
        default:
            break
        }
        var request = request
        let bearer = Bearer(request.headers[.authorization])
        let method = request.method
        // Who asks, and within their rate, before any body is read: only a
        // token holder can make the server hold one.
        let heavy = route.isHeavy(method)
        let limits = self.limits
        let token: AccessToken
        // Writes and histories on the write lane, every other read on the read lane.
        let lane: VaultService.Lane = heavy ? .write : .read
        switch try await service.run(lane, { session in API.admit(bearer, session: session, limits: limits, heavy: heavy) }) {
        case .success(let admitted):
            token = admitted
        case .failure(let refusal):
            who = refusal.who
            return refusal.problem.response
        }
        who = token.name
        let body: ByteBuffer? = method == .put ? try await API.collect(&request) : nil
        let write = Call.Write(method: method.rawValue, path: request.uri.path, body: body,
                               idempotencyKey: request.headers[API.idempotencyHeader])
        let reveal = request.uri.queryParameters["reveal"]
        let listPrefix = request.uri.queryParameters["prefix"].map(String.init)
        let links = self.links
        let answer = try await service.run(lane) { session -> Answer in
            do {
                let call = Call(vault: try session.vault(for: token.name), service: session.service, token: token)
                return try call.answer(route, method: method, reveal: reveal, listPrefix: listPrefix, write: write, links: links)
            } catch {
                return .problem(ServeProblem.of(error))
            }
        }
        return answer.response
    }

    /// A refusal before the operation: the problem, and how the log names the asker.
    struct Refusal: Error {
        let who: String
        let problem: ServeProblem
    }

    /// The token `bearer` is, if it is valid and within its rate (`heavy`:
    /// a write or a history, which also take from the token's write bucket).
    static func admit(_ bearer: Bearer, session: VaultService.Session, limits: RateLimits, heavy: Bool) -> Result<AccessToken, Refusal> {
        let checked: Vault.Authentication
        do {
            checked = try bearer.token.map { bytes in try bytes.withUnsafeBytes { try session.authenticate($0) } } ?? .unknown
        } catch {
            return .failure(Refusal(who: "-", problem: ServeProblem.of(error)))
        }
        switch checked {
        case .valid(let token):
            if let wait = limits.admit(token: token.identity, heavy: heavy) {
                return .failure(Refusal(who: token.name, problem: ServeProblem(.tooManyRequests, "over this token's rate limit; retry after \(wait) s",
                                                                              headers: [.retryAfter: String(wait)])))
            }
            return .success(token)
        case .expired(let expired):
            // Its holder knows the token already: telling them it expired gives nothing away.
            let when = expired.expires.map { UTCTime.iso8601($0) } ?? "?"
            return .failure(Refusal(who: "\(expired.name) (expired)",
                                    problem: ServeProblem(.unauthorized, "this token expired at \(when); make a new one with coffer token create",
                                                          headers: ServeProblem.unauthorized.headers)))
        case .unknown:
            return .failure(Refusal(who: bearer.token == nil ? "- (none)" : "- (unknown or revoked)", problem: ServeProblem.unauthorized))
        }
    }

    /// `GET /v1/reveal/{link}`: the value once, for the token that made the
    /// link, while that token still exists, has not expired and reaches the id.
    private func redeem(_ link: String, who: inout String) async throws -> Response {
        let redemption = links.redeem(link)
        guard case .value(let id, let minter, let identity) = redemption else {
            throw redemption == .unknown ? ServeProblem(.notFound, "no such reveal link") : ServeProblem(.gone, "this reveal link was used or has expired")
        }
        who = minter + " (link)"
        do {
            return try await service.run(.read) { session in
                let vault = try session.vault(for: minter + " (reveal link)")
                guard let token = try vault.tokens().first(where: { $0.identity == identity }), !token.hasExpired(at: UTCTime.now()),
                      token.rights.contains(.revealLinks), token.reaches(id) else {
                    throw ServeProblem(.gone, "this reveal link's token was revoked, has expired or no longer reaches the secret")
                }
                return try Call(vault: vault, service: session.service, token: token).value(id)
            }.response
        } catch {
            // The vault was busy (another writer held it): the link is not spent.
            // Any other refusal (the secret gone, the token revoked) spends it.
            if ServeProblem.of(error).status == .serviceUnavailable { links.restore(link) }
            throw error
        }
    }

    /// How long a request's body may take to arrive (the idle timeout alone
    /// would let a client trickle a byte every 29 s and hold its connection).
    static let bodySeconds = 10

    static func collect(_ request: inout Request) async throws -> ByteBuffer {
        let body = request.body
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask { try await body.collect(upTo: bodyLimit) }
                group.addTask {
                    try await Task.sleep(for: .seconds(bodySeconds))
                    throw ServeProblem(.requestTimeout, "the body did not arrive within \(bodySeconds) s")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch is NIOTooManyBytesError {
            throw ServeProblem(.contentTooLarge, "the body is over \(bodyLimit / 1024) KiB")
        }
    }


    static func respond(_ status: HTTPResponse.Status, _ body: String, type: String = "application/json") -> Response {
        Response(status: status, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The token from `Authorization: Bearer …`, copied into a wiped buffer
/// and handed to the vault's queue (the header's own string is NIO's).
struct Bearer: @unchecked Sendable {
    let token: SecureBytes?

    init(_ header: String?) {
        // The scheme is case-insensitive (RFC 9110); the token is what follows one space.
        guard let header, header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else {
            token = nil
            return
        }
        token = SecureBytes(copying: Array(header.utf8.dropFirst(7)))
    }
}
