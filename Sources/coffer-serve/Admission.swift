import Age
import CofferKit
import Hummingbird
import Posix

/// Who asks: the bearer token checked and its rate taken, before anything
/// else is done for the request (and before its body is read).
extension API {
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
