import Age
import CofferKit
import NIOCore

/// `PUT` and `DELETE /v1/secrets/{id}`: one commit each, made as the CLI's
/// `set` and `rm` make theirs, signed with the server's identity.
extension Call {
    /// A write as it arrived: what its `Idempotency-Key` is checked against.
    struct Write: @unchecked Sendable {
        let method: String
        let path: String
        var body: ByteBuffer?
        let idempotencyKey: String?
    }

    func write(_ id: SecretID, _ request: Write) throws -> Answer {
        guard token.reaches(id) else { throw ServeProblem.notFound(id) }
        guard token.rights.contains(.write) else { throw ServeProblem(.forbidden, "this token may not write (made without --write)") }
        guard let store = service.idempotency else { throw ServeProblem(.forbidden, "this server is read-only (--read-only)") }
        let value = try request.body.map(Call.value(from:))
        guard let key = request.idempotencyKey else { return .ok(try perform(id, value)) }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ServeProblem(.badRequest, "an Idempotency-Key is 1 to 255 visible ASCII characters")
        }
        let fingerprint = Call.fingerprint(request)
        return try fingerprint.withUnsafeBytes { fingerprint in
            switch store.lookup(token: token.identity, idempotencyKey: key, request: fingerprint) {
            case .replay(let status, let body):
                return .replay(status: status, body: body)
            case .conflict(pending: true):
                throw ServeProblem(.conflict, "a request with this Idempotency-Key is still running or was interrupted; "
                                   + "see GET /v1/history/\(id) for whether it was done")
            case .conflict(pending: false):
                throw ServeProblem(.conflict, "this Idempotency-Key was used with another request")
            case .fresh:
                try store.begin(token: token.identity, idempotencyKey: key, request: fingerprint)
                let body: String
                do {
                    body = try perform(id, value)
                } catch {
                    // Refused before its commit: the key is free for a retry.
                    try store.abandon(token: token.identity, idempotencyKey: key, request: fingerprint)
                    throw error
                }
                try store.finish(token: token.identity, idempotencyKey: key, request: fingerprint, status: 200, body: body)
                return .ok(body)
            }
        }
    }

    /// The change and its answer: the id, its commit, whether anything
    /// changed, and (after a set) the id's new version.
    private func perform(_ id: SecretID, _ value: SecureBytes?) throws -> String {
        let outcome: ChangeOutcome
        if let value {
            let plan = try vault.planSet([(id, value)], me: service.myKeys)
            guard plan.risks.isEmpty else {
                throw ServeProblem(.conflict, "not done: " + plan.risks.map(\.description).joined(separator: "; "))
            }
            outcome = try vault.apply(plan, identities: service.identities)
        } else {
            guard vault.contains(id) else { throw ServeProblem.notFound(id) }
            outcome = try vault.remove([id])
        }
        service.report(outcome)
        var fields: [(String, JSONText)] = [("id", .string(id.value)), ("commit", outcome.commit.map(JSONText.string) ?? .null),
                                            ("changed", .bool(outcome.commit != nil))]
        if value != nil { fields.append(("version", .int(try service.version(of: id, in: vault)))) }
        return JSONText.object(fields).text
    }

    /// The largest value a request sets (the vault takes larger ones from the CLI).
    static let valueLimit = 64 * 1024

    /// `{"value": "…"}` and nothing else, read into a wiped buffer.
    static func value(from body: ByteBuffer) throws -> SecureBytes {
        let shape = "the body is one JSON object with one string, value: {\"value\": \"…\"}"
        let entries: [PlaintextEntry]
        do {
            entries = try body.withUnsafeReadableBytes { try FlatJSON.parse($0) }
        } catch let error as PlaintextError {
            throw ServeProblem(.badRequest, "\(shape) (\(error))")
        }
        guard entries.count == 1, entries[0].key == "value" else {
            let others = entries.map(\.key).filter { $0 != "value" }
            throw ServeProblem(.badRequest, shape + (others.isEmpty ? "" : " (not \(others.map { "\"\($0)\"" }.joined(separator: ", ")))"))
        }
        guard entries[0].value.count <= Call.valueLimit else {
            throw ServeProblem(.contentTooLarge, "a value set over HTTP is at most \(Call.valueLimit) bytes; set larger ones with coffer set --file")
        }
        return entries[0].value
    }

    /// Method, path and body, which a retry must repeat exactly.
    static func fingerprint(_ request: Write) -> SecureBytes {
        let head = Array("\(request.method) \(request.path)\n".utf8)
        let body = request.body?.readableBytes ?? 0
        let joined = SecureBytes(count: head.count + body)
        joined.withUnsafeMutableBytes { out in
            out.copyBytes(from: head)
            request.body?.withUnsafeReadableBytes { UnsafeMutableRawBufferPointer(rebasing: out[head.count...]).copyMemory(from: $0) }
        }
        return joined
    }
}
