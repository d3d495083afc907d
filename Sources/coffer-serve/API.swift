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
        let heavy = route.isHeavy(method)
        // Writes and histories on the write lane, every other read on the read lane.
        let lane: VaultService.Lane = heavy ? .write : .read
        var operation = Operation(route: route, method: method, reveal: request.uri.queryParameters["reveal"],
                                  listPrefix: request.uri.queryParameters["prefix"].map(String.init),
                                  write: Call.Write(method: method.rawValue, path: request.uri.path, body: nil,
                                                    idempotencyKey: request.headers[API.idempotencyHeader]),
                                  links: links)
        // Who asks, and within their rate, before any body is read: only a
        // token holder can make the server hold one. So a PUT takes two turns
        // on its lane (admitted, then done); every other request one.
        let readsBody = method == .put
        let limits = self.limits
        let first = try await service.run(lane) { [operation] session -> Turn in
            switch API.admit(bearer, session: session, limits: limits, heavy: heavy) {
            case .failure(let refusal): return .refused(refusal)
            case .success(let token): return readsBody ? .admitted(token) : .answered(token.name, operation.perform(session, token))
            }
        }
        switch first {
        case .refused(let refusal):
            who = refusal.who
            return refusal.problem.response
        case .answered(let name, let answer):
            who = name
            return answer.response
        case .admitted(let token):
            who = token.name
            operation.write.body = try await API.collect(&request)
            return try await service.run(lane) { [operation] session in operation.perform(session, token) }.response
        }
    }

    /// What the first turn on a lane came to.
    enum Turn: Sendable {
        case refused(Refusal)
        case admitted(AccessToken)
        case answered(String, Answer)
    }

    /// An authenticated request's operation, as parsed off the event loop.
    struct Operation: Sendable {
        let route: Route
        let method: HTTPRequest.Method
        let reveal: Substring?
        let listPrefix: String?
        var write: Call.Write
        let links: RevealLinks

        /// Its answer, refusals included, on the vault's lane.
        func perform(_ session: VaultService.Session, _ token: AccessToken) -> Answer {
            do {
                let call = Call(vault: try session.vault(for: token.name), service: session.service, token: token)
                return try call.answer(route, method: method, reveal: reveal, listPrefix: listPrefix, write: write, links: links)
            } catch {
                return .problem(ServeProblem.of(error))
            }
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
