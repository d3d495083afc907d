import Age
import CofferKit
import HTTPTypes
import Hummingbird
import NIOCore
import Posix

/// What an operation answers: a JSON document, a revealed value (JSON
/// written from its wiped buffer), or a problem.
enum Answer: @unchecked Sendable {
    case ok(String)
    case created(String)
    /// A status and body remembered for an idempotency key, answered again.
    case replay(status: Int, body: String)
    case value(SecureBytes)
    case problem(ServeProblem)

    var response: Response {
        switch self {
        case .ok(let body): return API.respond(.ok, body + "\n")
        case .created(let body): return API.respond(.created, body + "\n")
        case .replay(let status, let body):
            var response = API.respond(HTTPResponse.Status(code: status), body + "\n")
            response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true"
            return response
        case .value(let json):
            // The response's buffer is SwiftNIO's, not wiped: the one copy of a
            // value that coffer does not control, for as long as NIO keeps it.
            var buffer = json.withUnsafeBytes { ByteBuffer(bytes: $0) }
            buffer.writeString("\n")
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: buffer))
        case .problem(let problem): return problem.response
        }
    }
}

/// One authenticated request's operation on the vault, on the vault's
/// queue. Anything outside the token's prefixes is 404, worded as absent;
/// a right the token lacks is 403, asked only within its prefixes.
struct Call {
    let vault: Vault
    let service: VaultService
    let token: AccessToken

    /// The answer to an authenticated request on `route`.
    func answer(_ route: API.Route, method: HTTPRequest.Method, reveal: Substring?, listPrefix: String?, write: Write,
                links: RevealLinks) throws -> Answer {
        switch route {
        case .list:
            return try list(prefix: listPrefix)
        case .secret(let id) where method == .get:
            switch reveal {
            case nil, "false": return try masked(id)
            case "true": return try revealed(id)
            default: throw ServeProblem(.badRequest, "reveal is true or false")
            }
        case .secret(let id):
            return try self.write(id, write)
        case .history(let id):
            return try history(id)
        case .revealLink(let id):
            try checkLink(id)
            guard let link = links.mint(id, by: token) else {
                throw ServeProblem(.serviceUnavailable, "too many reveal links are outstanding; retry when some have expired",
                                   headers: [.retryAfter: "60"])
            }
            return .created(JSONText.object([("id", .string(id.value)), ("url", .string("/v1/reveal/" + link)),
                                             ("expires_in", .int(links.lifetime))]).text)
        case .openAPI, .reveal:
            preconditionFailure("answered without a token")
        }
    }

    /// `GET /v1/secrets?prefix=P`: the ids the token reaches under P.
    func list(prefix text: String?) throws -> Answer {
        let prefix = try Prefix(text ?? "")
        let ids = service.ids(vault).filter { prefix.contains($0) && token.reaches($0) }
        return .ok(JSONText.object([("prefix", .string(prefix.description)), ("ids", .array(ids.map { .string($0.value) }))]).text)
    }

    /// `GET /v1/secrets/{id}`: the id, a mask, the value's length and version.
    func masked(_ id: SecretID) throws -> Answer {
        try visible(id)
        let value = try vault.read(id, identities: service.identities)
        return .ok(JSONText.object([("id", .string(id.value)), ("value", .string("********")), ("bytes", .int(value.count)),
                                    ("version", .int(try service.version(of: id, in: vault)))]).text)
    }

    /// `GET /v1/secrets/{id}?reveal=true`, for a token with the reveal right.
    func revealed(_ id: SecretID) throws -> Answer {
        guard token.reaches(id) else { throw ServeProblem.notFound(id) }
        guard token.rights.contains(.reveal) else {
            throw ServeProblem(.forbidden, "this token may not reveal values (made without --reveal)")
        }
        return try value(id)
    }

    /// The value as `{"id": …, "value": …}`, recorded in the audit log first
    /// (when that fails, nothing is shown).
    func value(_ id: SecretID) throws -> Answer {
        try visible(id)
        let value = try vault.read(id, identities: service.identities)
        let json: SecureBytes
        do {
            json = try FlatJSON.encode([("id", SecureBytes(copying: Array(id.value.utf8))), ("value", value)], compact: true)
        } catch PlaintextError.valueNotUTF8 {
            throw ServeProblem(.unprocessableContent, "the value of \(id) is not UTF-8 text, which JSON cannot carry; read it with coffer get")
        }
        // Recorded once the answer is ready, before it leaves.
        try vault.recordReveal(.serve, ids: [id])
        return .value(json)
    }

    /// `POST /v1/reveal-links/{id}`: throws unless a link may be made.
    func checkLink(_ id: SecretID) throws {
        guard token.reaches(id) else { throw ServeProblem.notFound(id) }
        guard token.rights.contains(.revealLinks) else {
            throw ServeProblem(.forbidden, "this token may not make reveal links (made without --reveal-links)")
        }
        try visible(id)
    }

    /// `GET /v1/history/{id}`: the versions, as `coffer history -o json` prints them.
    /// Versions under another id (a rename into the token's prefixes) are
    /// left out: a token learns nothing of ids outside them.
    func history(_ id: SecretID) throws -> Answer {
        guard token.reaches(id) else { throw ServeProblem.notFound(id) }
        let versions = try service.history(of: id, in: vault).filter { token.reaches($0.id) }
        guard !versions.isEmpty else { throw ServeProblem.notFound(id) }
        let rows: [JSONText] = versions.map { v in
            var signature: [(String, JSONText)] = [("mark", .string(v.origin.signature.mark.rawValue))]
            if let signer = v.origin.signature.signer { signature.append(("signer", .string(signer))) }
            if let fingerprint = v.origin.signature.fingerprint { signature.append(("fingerprint", .string(fingerprint))) }
            var row: [(String, JSONText)] = [("version", .int(v.number)), ("id", .string(v.id.value)), ("commit", .string(v.commit)),
                                             ("date", .string(UTCTime.iso8601(Int(v.time)))), ("author", .string(v.author)),
                                             ("signature", .object(signature)), ("action", .string(v.action))]
            if v.origin.claimedAction != v.action { row.append(("claimed_action", .string(v.origin.claimedAction))) }
            row.append(("change", .string(v.change.rawValue)))
            return .object(row)
        }
        return .ok(JSONText.object([("id", .string(id.value)), ("versions", .array(rows))]).text)
    }

    /// 404 unless the token reaches `id` and the work tree holds it.
    private func visible(_ id: SecretID) throws {
        guard token.reaches(id), vault.contains(id) else { throw ServeProblem.notFound(id) }
    }
}
