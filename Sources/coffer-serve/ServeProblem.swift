import Age
import CofferKit
import HTTPTypes
import Hummingbird
import NIOCore

/// An answer other than success, sent as `application/problem+json`
/// (RFC 9457): the status, its reason as the title, and coffer's words as
/// the detail — ids and reasons, never a value or a token.
struct ServeProblem: Error {
    let status: HTTPResponse.Status
    let detail: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    /// 404 for everything a token may not see, absent or not: the same words either way.
    static func notFound(_ id: SecretID) -> ServeProblem { ServeProblem(.notFound, "no secret \(id)") }

    static let unauthorized = ServeProblem(.unauthorized, "a valid bearer token is needed (Authorization: Bearer cft_…)",
                                           headers: [.wwwAuthenticate: "Bearer realm=\"coffer\""])

    var response: Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        let body = JSONText.object([("type", .string("about:blank")), ("title", .string(status.reasonPhrase)),
                                    ("status", .int(status.code)), ("detail", .string(detail))]).text + "\n"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The problem an operation's error is. Typed errors never carry a
    /// secret's bytes, so their descriptions may be shown.
    static func of(_ error: any Error) -> ServeProblem {
        switch error {
        case let problem as ServeProblem: return problem
        case let error as VaultError:
            switch error {
            case .invalidID, .invalidScope: return ServeProblem(.badRequest, error.description)
            case .notFound, .noSecrets, .deletedAt, .noSuchRevision: return ServeProblem(.notFound, error.description)
            case .notReadable: return ServeProblem(.forbidden, error.description + " (not with the identity coffer serve runs with)")
            case .tooLarge: return ServeProblem(.contentTooLarge, error.description)
            case .locked, .gitIndexLocked, .gitLocked:
                return ServeProblem(.serviceUnavailable, error.description, headers: [.retryAfter: "1"])
            case .idempotencyStoreFull: return ServeProblem(.serviceUnavailable, error.description, headers: [.retryAfter: "60"])
            case .file, .storage, .corruptTokens, .corruptIdempotencyStore: return ServeProblem(.internalServerError, error.description)
            default: return ServeProblem(.conflict, error.description)
            }
        case let error as PlaintextError: return ServeProblem(.badRequest, error.description)
        default: return ServeProblem(.internalServerError, message(for: error))
        }
    }

    /// An error's words for the log and for a 500.
    static func message(for error: any Error) -> String {
        switch error {
        case let failure as ServeFailure: return failure.description
        case let error as CustomStringConvertible: return error.description
        default: return "an unexpected error (\(type(of: error)))"
        }
    }
}
