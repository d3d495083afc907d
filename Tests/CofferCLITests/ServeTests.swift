import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `coffer serve` end to end: the real server (through `coffer serve`),
/// a real HTTP client (curl), a vault written by the CLI beside it.
final class ServeTests: VaultE2ECase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let devValue = "dev-canary-value-31337"
    let prodValue = "prod-canary-value-27182"

    private func seed() throws {
        try initVault()
        try cofOK(["set", "dev/db", "--stdin"], stdin: Data(devValue.utf8))
        try cofOK(["set", "prod/db", "--stdin"], stdin: Data(prodValue.utf8))
    }

    func testScopesRightsAndTokens() throws {
        try seed()
        let reader = try makeToken(["--scope", "dev/", "--name", "reader"])
        let writer = try makeToken(["--scope", "dev", "--write", "--reveal", "--reveal-links", "--name", "writer"])
        let server = try ServeProcess(self)
        defer { server.stop() }

        // Within the scope: ids and masked values only.
        let list = try http("GET", server, "/v1/secrets", token: reader)
        XCTAssertEqual(list.status, 200, list.text)
        XCTAssertEqual(list.json["ids"] as? [String], ["dev/db"])
        // No token, no body read: a large one is answered 401 at once.
        let unread = try http("PUT", server, "/v1/secrets/dev/db", body: "{\"value\":\"" + String(repeating: "a", count: 500_000) + "\"}")
        XCTAssertEqual(unread.status, 401, unread.text)
        let masked = try http("GET", server, "/v1/secrets/dev/db", token: reader)
        XCTAssertEqual(masked.status, 200, masked.text)
        XCTAssertEqual(masked.json["value"] as? String, "********")
        XCTAssertEqual(masked.json["bytes"] as? Int, devValue.utf8.count)
        XCTAssertEqual(masked.json["version"] as? Int, 1)
        XCTAssertEqual(masked.headers["content-type"], "application/json")
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev%2Fdb", token: reader).json["bytes"] as? Int, devValue.utf8.count,
                       "a slash sent as %2F is a slash")

        // Outside it: 404, worded exactly as for an id that does not exist, for every operation.
        let absent = try http("GET", server, "/v1/secrets/dev/none", token: reader)
        XCTAssertEqual(absent.status, 404)
        XCTAssertEqual(absent.headers["content-type"], "application/problem+json")
        for token in [reader, writer] {
            for (method, path, body) in [("GET", "/v1/secrets/prod/db", nil), ("GET", "/v1/secrets/prod/db?reveal=true", nil),
                                         ("GET", "/v1/history/prod/db", nil), ("POST", "/v1/reveal-links/prod/db", nil),
                                         ("PUT", "/v1/secrets/prod/db", "{\"value\":\"x\"}"), ("DELETE", "/v1/secrets/prod/db", nil)] {
                let answer = try http(method, server, path, token: token, body: body)
                XCTAssertEqual(answer.status, 404, "\(method) \(path): \(answer.text)")
                XCTAssertEqual(answer.detail, "no secret prod/db", "\(method) \(path)")
                let missing = try http(method, server, path.replacingOccurrences(of: "prod/db", with: "prod/none"), token: token, body: body)
                XCTAssertEqual(missing.detail, "no secret prod/none", "absent and out of scope read alike")
            }
            XCTAssertEqual(try http("GET", server, "/v1/secrets?prefix=prod", token: token).json["ids"] as? [String], [])
        }

        // `dev/` is the directory: a root-level id `dev` is outside it (a
        // token made with `--scope dev`, without the slash, reaches both).
        try cofOK(["set", "dev", "--stdin"], stdin: Data("root-level".utf8))
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev", token: reader).status, 404)
        XCTAssertEqual(try http("GET", server, "/v1/secrets", token: reader).json["ids"] as? [String], ["dev/db"])
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev", token: writer).status, 200)
        // A history that crosses from outside the prefixes (a rename) shows only the versions inside.
        try cofOK(["set", "prod/moving", "--stdin"], stdin: Data("m".utf8))
        try cofOK(["mv", "prod/moving", "dev/moved"])
        let crossed = try http("GET", server, "/v1/history/dev/moved", token: reader)
        XCTAssertEqual(crossed.status, 200, crossed.text)
        XCTAssertFalse(crossed.text.contains("prod/"), crossed.text)
        XCTAssertEqual((crossed.json["versions"] as? [[String: Any]])?.count, 1)
        // A value JSON cannot carry: 422, and no reveal recorded, since none happened.
        try cofOK(["set", "dev/binary", "--stdin"], stdin: Data([0xFF, 0xFE, 0x00]))
        let binary = try http("GET", server, "/v1/secrets/dev/binary?reveal=true", token: writer)
        XCTAssertEqual(binary.status, 422, binary.text)
        let entries = try JSONSerialization.jsonObject(with: try cofOK(["audit", "-o", "json"]).stdout) as? [String: Any]
        let reveals = (entries?["entries"] as? [[String: Any]] ?? []).filter { $0["action"] as? String == "reveal:serve" }
        XCTAssertFalse(reveals.contains { ($0["ids"] as? [String]) == ["dev/binary"] }, "\(reveals)")

        // Rights: reveal, reveal links and writes are 403 without them.
        for (method, path, body) in [("GET", "/v1/secrets/dev/db?reveal=true", nil), ("POST", "/v1/reveal-links/dev/db", nil),
                                     ("PUT", "/v1/secrets/dev/db", "{\"value\":\"x\"}"), ("DELETE", "/v1/secrets/dev/db", nil)] {
            let answer = try http(method, server, path, token: reader, body: body)
            XCTAssertEqual(answer.status, 403, "\(method) \(path): \(answer.text)")
        }
        let revealed = try http("GET", server, "/v1/secrets/dev/db?reveal=true", token: writer)
        XCTAssertEqual(revealed.status, 200, revealed.text)
        XCTAssertEqual(revealed.json["value"] as? String, devValue)
        XCTAssertEqual(revealed.headers["cache-control"], "no-store")

        // No token, a malformed one, an unknown one, a revoked one, an expired one: 401.
        let unknown = "cft_" + String(repeating: "0", count: 64)
        for token in [nil, "nonsense", unknown] {
            let answer = try http("GET", server, "/v1/secrets", token: token)
            XCTAssertEqual(answer.status, 401, answer.text)
            XCTAssertEqual(answer.headers["www-authenticate"], "Bearer realm=\"coffer\"")
        }
        let brief = try makeToken(["--scope", "/", "--ttl", "2", "--name", "brief"])
        XCTAssertEqual(try http("GET", server, "/v1/secrets", token: brief).status, 200)
        usleep(2_100_000)
        let expired = try http("GET", server, "/v1/secrets", token: brief)
        XCTAssertEqual(expired.status, 401, "expired")
        XCTAssertTrue(expired.detail.hasPrefix("this token expired at "), expired.text)
        XCTAssertTrue(server.log.contains("GET /v1/secrets 401") && server.log.contains("token=brief (expired)"), server.log)
        XCTAssertEqual(try http("GET", server, "/v1/secrets", headers: ["Authorization": "bearer \(reader)"]).status, 200,
                       "the scheme is case-insensitive")
        try cofOK(["token", "revoke", "writer"])
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev/db?reveal=true", token: writer).status, 401, "revoked, without a restart")

        // Anything else: 404 or 405, as problems.
        XCTAssertEqual(try http("GET", server, "/v2/secrets", token: reader).status, 404)
        let wrongMethod = try http("PATCH", server, "/v1/secrets/dev/db", token: reader)
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.headers["allow"], "GET, PUT, DELETE")
        XCTAssertEqual(try http("GET", server, "/v1/secrets/../.git/config", token: reader).status, 400)
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev/db?reveal=yes", token: reader).status, 400)

        // Nothing holds a token in clear: not the work tree, not .git (objects
        // and .git/coffer), not a commit; the server's log names tokens only.
        XCTAssertEqual(try gitOK(["status", "--porcelain"]).stdoutText, "")
        let all = snapshot()
        for token in [reader, writer, brief] {
            let secret = Data(token.dropFirst(4).utf8)
            for (name, bytes) in all where bytes.range(of: secret) != nil { XCTFail("\(name) holds a token") }
            XCTAssertFalse(server.log.contains(String(token.dropFirst(4))))
        }
        XCTAssertTrue(server.log.contains("GET /v1/secrets/dev/db?reveal=true 200"), server.log)
        XCTAssertTrue(server.log.contains("token=writer"), server.log)
    }

    func testRevealLinksWorkOnceThenGone() throws {
        try seed()
        let minter = try makeToken(["--scope", "dev/", "--reveal-links", "--name", "links"])
        let server = try ServeProcess(self, ["--link-seconds", "2"])
        defer { server.stop() }

        let made = try http("POST", server, "/v1/reveal-links/dev/db", token: minter)
        XCTAssertEqual(made.status, 201, made.text)
        XCTAssertEqual(made.json["expires_in"] as? Int, 2)
        let url = try XCTUnwrap(made.json["url"] as? String)
        XCTAssertTrue(url.hasPrefix("/v1/reveal/cfl_"), url)
        // The link needs no bearer token: it is the capability.
        let first = try http("GET", server, url)
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(first.json["value"] as? String, devValue)
        let second = try http("GET", server, url)
        XCTAssertEqual(second.status, 410, second.text)
        XCTAssertEqual(second.headers["content-type"], "application/problem+json")
        XCTAssertEqual(try http("GET", server, "/v1/reveal/cfl_" + String(repeating: "a", count: 64)).status, 404)

        // Unused but expired: 410 too.
        let late = try XCTUnwrap(try http("POST", server, "/v1/reveal-links/dev/db", token: minter).json["url"] as? String)
        usleep(2_200_000)
        XCTAssertEqual(try http("GET", server, late).status, 410)

        // A link to a secret removed is spent by its 404: setting the id again does not revive it.
        try cofOK(["set", "dev/brief", "--stdin"], stdin: Data("brief".utf8))
        let removed = try XCTUnwrap(try http("POST", server, "/v1/reveal-links/dev/brief", token: minter).json["url"] as? String)
        try cofOK(["rm", "dev/brief"])
        XCTAssertEqual(try http("GET", server, removed).status, 404)
        try cofOK(["set", "dev/brief", "--stdin"], stdin: Data("again".utf8))
        XCTAssertEqual(try http("GET", server, removed).status, 410)

        // A link dies with its token, even when a new token takes its name.
        let orphan = try XCTUnwrap(try http("POST", server, "/v1/reveal-links/dev/db", token: minter).json["url"] as? String)
        try cofOK(["token", "revoke", "links"])
        XCTAssertEqual(try http("GET", server, orphan).status, 410)
        _ = try makeToken(["--scope", "dev/", "--reveal-links", "--name", "links"])
        XCTAssertEqual(try http("GET", server, orphan).status, 410)

        // The log never shows a link's token; the audit log names the token that made it.
        XCTAssertFalse(server.log.contains(String(url.dropFirst("/v1/reveal/".count))), server.log)
        XCTAssertTrue(server.log.contains("GET /v1/reveal/… 200"), server.log)
        let audit = try cofOK(["audit", "-o", "json"]).stdoutText
        XCTAssertTrue(audit.contains("reveal:serve"), audit)
        XCTAssertTrue(audit.contains("tester via token links (reveal link)"), audit)
    }

    func testIdempotentWritesSurviveARestart() throws {
        try seed()
        let writer = try makeToken(["--scope", "dev/", "--write", "--name", "ci"])
        var server = try ServeProcess(self, ["--write-rate", "100"])
        let before = try commitCount()

        let key = ["Idempotency-Key": "deploy-42"]
        let first = try http("PUT", server, "/v1/secrets/dev/api", token: writer, body: "{\"value\":\"first-value\"}", headers: key)
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(first.json["changed"] as? Bool, true)
        XCTAssertEqual(first.json["version"] as? Int, 1)
        let commit = try XCTUnwrap(first.json["commit"] as? String)
        XCTAssertEqual(commit, try head())
        let retry = try http("PUT", server, "/v1/secrets/dev/api", token: writer, body: "{\"value\":\"first-value\"}", headers: key)
        XCTAssertEqual(retry.status, 200)
        XCTAssertEqual(retry.body, first.body, "the first answer, again")
        XCTAssertEqual(retry.headers["idempotent-replayed"], "true")
        XCTAssertEqual(try commitCount(), before + 1, "one commit for the key")
        let other = try http("PUT", server, "/v1/secrets/dev/api", token: writer, body: "{\"value\":\"another\"}", headers: key)
        XCTAssertEqual(other.status, 409, other.text)
        XCTAssertEqual(try http("DELETE", server, "/v1/secrets/dev/api", token: writer, headers: key).status, 409,
                       "the same key on another request")
        XCTAssertEqual(Data("first-value".utf8), try reveal("dev/api"))

        // Each write is the CLI's commit: signed, its action recorded, the audit log naming the token.
        let history = try cofOK(["history", "dev/api", "-o", "json"]).stdoutText
        XCTAssertTrue(history.contains("\"mark\":\"verified\""), history)
        XCTAssertTrue(history.contains("\"action\":\"set\""), history)
        XCTAssertTrue(try cofOK(["audit", "-o", "json"]).stdoutText.contains("tester via token ci"))

        // Across a restart the key still answers the first result.
        XCTAssertEqual(server.stop(), 0, server.log)
        server = try ServeProcess(self, ["--write-rate", "100"])
        defer { server.stop() }
        let afterRestart = try http("PUT", server, "/v1/secrets/dev/api", token: writer, body: "{\"value\":\"first-value\"}", headers: key)
        XCTAssertEqual(afterRestart.status, 200)
        XCTAssertEqual(afterRestart.body, first.body)
        XCTAssertEqual(afterRestart.headers["idempotent-replayed"], "true")
        XCTAssertEqual(try commitCount(), before + 1)
        // The store holds hashes and answers, never the value or the key.
        let stored = try String(contentsOfFile: vaultDir + "/.git/coffer/idempotency", encoding: .utf8)
        XCTAssertFalse(stored.contains("first-value") || stored.contains("deploy-42"), stored)

        // Deletes: idempotent too; a refused write frees its key.
        let deleteKey = ["Idempotency-Key": "cleanup-1"]
        XCTAssertEqual(try http("DELETE", server, "/v1/secrets/dev/nothing", token: writer, headers: deleteKey).status, 404)
        let deleted = try http("DELETE", server, "/v1/secrets/dev/api", token: writer, headers: deleteKey)
        XCTAssertEqual(deleted.status, 200, deleted.text)
        XCTAssertEqual(try http("DELETE", server, "/v1/secrets/dev/api", token: writer, headers: deleteKey).body, deleted.body)
        XCTAssertEqual(try commitCount(), before + 2)
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev/api", token: writer).status, 404)

        // Bodies other than {"value": "…"} and bad keys are refused before anything is done.
        for body in ["", "{}", "{\"value\":1}", "{\"value\":\"a\",\"other\":\"b\"}", "[\"value\"]", "{\"value\":\"\\ud800\"}"] {
            XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/x", token: writer, body: body).status, 400, body)
        }
        XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/x", token: writer, body: "{\"value\":\"v\"}",
                                headers: ["Idempotency-Key": String(repeating: "k", count: 256)]).status, 400)
        let large = "{\"value\":\"" + String(repeating: "a", count: 65537) + "\"}"
        XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/x", token: writer, body: large).status, 413)
        let huge = "{\"value\":\"" + String(repeating: "a", count: 500_000) + "\"}"
        XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/x", token: writer, body: huge).status, 413)
        XCTAssertEqual(try commitCount(), before + 2)
    }

    func testChangesOnDiskAreServedWithoutARestart() throws {
        try seed()
        let token = try makeToken(["--scope", "/", "--name", "all"])
        let server = try ServeProcess(self)
        defer { server.stop() }
        XCTAssertEqual(try http("GET", server, "/v1/secrets", token: token).json["ids"] as? [String], ["dev/db", "prod/db"])

        // The CLI writes beside the server: the next request sees it.
        try cofOK(["set", "dev/new/key", "--stdin"], stdin: Data("v".utf8))
        try cofOK(["set", "dev/db", "--stdin"], stdin: Data("changed-value".utf8))
        XCTAssertEqual(try http("GET", server, "/v1/secrets", token: token).json["ids"] as? [String], ["dev/db", "dev/new/key", "prod/db"])
        let changed = try http("GET", server, "/v1/secrets/dev/db", token: token).json
        XCTAssertEqual(changed["bytes"] as? Int, "changed-value".utf8.count)
        XCTAssertEqual(changed["version"] as? Int, 2)
        try cofOK(["rm", "prod/db"])
        XCTAssertEqual(try http("GET", server, "/v1/secrets?prefix=prod/", token: token).json["ids"] as? [String], [])
        XCTAssertEqual(try http("GET", server, "/v1/secrets/prod/db", token: token).status, 404)
        // A commit made by stock git (a pull would do the same) is seen too.
        try gitOK(["mv", "dev/new/key.age", "dev/moved.age"])
        try gitOK(["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "by hand"])
        XCTAssertEqual(try http("GET", server, "/v1/secrets?prefix=dev", token: token).json["ids"] as? [String], ["dev/db", "dev/moved"])

        let history = try http("GET", server, "/v1/history/dev/db", token: token)
        XCTAssertEqual(history.status, 200, history.text)
        let versions = try XCTUnwrap(history.json["versions"] as? [[String: Any]])
        XCTAssertEqual(versions.map { $0["version"] as? Int }, [2, 1])
        XCTAssertEqual(versions.first?["change"] as? String, "value")
        XCTAssertEqual((versions.first?["signature"] as? [String: Any])?["mark"] as? String, "verified")
    }

    func testNoValueInTheLogAtAnyLevel() throws {
        try seed()
        let token = try makeToken(["--scope", "/", "--write", "--reveal", "--reveal-links", "--name", "all"])
        let written = "written-canary-value-16180"
        for level in ["debug", "info", "warning", "error"] {
            let server = try ServeProcess(self, ["--log-level", level])
            XCTAssertEqual(try http("GET", server, "/v1/secrets/dev/db?reveal=true", token: token).json["value"] as? String, devValue)
            XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/w", token: token, body: "{\"value\":\"\(written)\"}").status, 200)
            let url = try XCTUnwrap(try http("POST", server, "/v1/reveal-links/prod/db", token: token).json["url"] as? String)
            XCTAssertEqual(try http("GET", server, url).json["value"] as? String, prodValue)
            XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/w", token: token, body: "{\"value\":\"\(written)\", \"x\":1}").status, 400)
            XCTAssertEqual(server.stop(), 0)
            let log = server.log
            for canary in [devValue, prodValue, written, String(token.dropFirst(4)), String(url.dropFirst(15))] {
                XCTAssertFalse(log.contains(canary), "--log-level \(level) logged a secret: \(log)")
            }
            XCTAssertEqual(log.contains("PUT /v1/secrets/dev/w 200"), level == "debug" || level == "info", log)
        }
    }

    func testListensOnLoopbackOrASocketAndCanBeReadOnly() throws {
        try seed()
        let token = try makeToken(["--scope", "/", "--write", "--name", "all"])
        for address in ["0.0.0.0:0", "192.0.2.1:8000", "example.com:0", "[::]:0"] {
            let refused = try cof(["serve", "--listen", address])
            XCTAssertEqual(refused.status, 64, "\(address): \(refused.stderrText)")
            XCTAssertTrue(refused.stderrText.hasPrefix("coffer: error: "), refused.stderrText)
            XCTAssertTrue(refused.stderrText.contains("is not a loopback address (127.0.0.1, [::1] or localhost); pass --allow-remote"),
                          refused.stderrText)
        }
        let named = try ServeProcess(self, ["--listen", "localhost:0"])
        XCTAssertTrue(named.address.hasPrefix("127.0.0.1:"), named.address)
        // The port taken, a second server on the clone: said at once, in coffer's words.
        let taken = try cof(["serve", "--listen", named.address, "--vault", path("elsewhere")])
        XCTAssertEqual(taken.status, 1)
        XCTAssertTrue(taken.stderrText.contains("coffer: error: ") && taken.stderrText.contains("coffer: hint: run coffer init, or pass --vault DIR"),
                      taken.stderrText)
        let started = Date()
        let second = try cof(["serve", "--listen", "127.0.0.1:0"])
        XCTAssertEqual(second.status, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "refused at once, not after a wait")
        XCTAssertTrue(second.stderrText.contains("coffer: error: another coffer serve is serving this clone"), second.stderrText)
        named.stop()
        let busyPort = try ServeProcess(self)
        defer { busyPort.stop() }
        try gitOK(["clone", "-q", vaultDir, path("second")])
        let inUse = try cof(["serve", "--listen", busyPort.address, "--vault", path("second")])
        XCTAssertEqual(inUse.status, 1)
        XCTAssertTrue(inUse.stderrText.contains("coffer: error: cannot listen on \(busyPort.address): it is already in use"), inUse.stderrText)
        XCTAssertTrue(inUse.stderrText.contains("coffer: hint: pick another with --listen 127.0.0.1:PORT"), inUse.stderrText)


        let socket = path("serve.sock")
        let server = try ServeProcess(self, ["--socket", socket, "--read-only"])
        defer { server.stop() }
        // A second server on a live socket is refused (SwiftNIO would replace it).
        let twice = try cof(["serve", "--socket", socket, "--read-only"])
        XCTAssertEqual(twice.status, 1)
        XCTAssertTrue(twice.stderrText.contains("coffer: error: a server is already listening on \(socket)"), twice.stderrText)
        var info = stat()
        XCTAssertEqual(lstat(socket, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "only this user may connect")
        let list = try http("GET", server, "/v1/secrets", token: token, socket: socket)
        XCTAssertEqual(list.json["ids"] as? [String], ["dev/db", "prod/db"], list.text)
        let write = try http("PUT", server, "/v1/secrets/dev/db", token: token, body: "{\"value\":\"x\"}", socket: socket)
        XCTAssertEqual(write.status, 403, write.text)
        XCTAssertTrue(write.detail.contains("read-only"), write.text)
        // The document is served as docs/openapi.yaml has it.
        let document = try http("GET", server, "/v1/openapi.yaml", socket: socket)
        XCTAssertEqual(document.status, 200)
        XCTAssertEqual(document.headers["content-type"], "application/yaml")
        XCTAssertEqual(document.body, try Data(contentsOf: ServeTests.repository.appendingPathComponent("docs/openapi.yaml")))
    }

    func testAProtectedIdentityNeedsItsPassphraseFile() throws {
        let passphrase = try write("pw", "correct horse battery\n")
        try cofOK(["identity", "new", "--protect", "--passphrase-file", passphrase])
        try cofOK(["init", vaultDir, "--passphrase-file", passphrase])
        try cofOK(["set", "dev/db", "--stdin", "--passphrase-file", passphrase], stdin: Data(devValue.utf8))
        let token = try makeToken(["--scope", "/", "--reveal", "--name", "all"])

        let refused = try ServeProcess(self, waitForListening: false)
        XCTAssertEqual(refused.exitStatus(), 1)
        XCTAssertTrue(refused.log.contains("is protected and coffer serve cannot ask for its passphrase"), refused.log)
        XCTAssertTrue(refused.log.contains("--passphrase-file"), refused.log)

        let server = try ServeProcess(self, ["--passphrase-file", passphrase])
        defer { server.stop() }
        XCTAssertEqual(try http("GET", server, "/v1/secrets/dev/db?reveal=true", token: token).json["value"] as? String, devValue)
    }

    func testRateLimitsAnswer429WithRetryAfter() throws {
        try seed()
        let token = try makeToken(["--scope", "/", "--write", "--name", "busy"])
        let other = try makeToken(["--scope", "/", "--name", "calm"])
        let server = try ServeProcess(self, ["--rate", "2", "--write-rate", "0.5"])
        defer { server.stop() }
        // A burst of twice the rate, then 429 until the bucket refills.
        let answers = try (0..<6).map { _ in try http("GET", server, "/v1/secrets", token: token) }
        XCTAssertEqual(answers.prefix(4).map(\.status), [200, 200, 200, 200])
        let limited = try XCTUnwrap(answers.last)
        XCTAssertEqual(limited.status, 429, limited.text)
        XCTAssertEqual(limited.headers["content-type"], "application/problem+json")
        XCTAssertNotNil(limited.headers["retry-after"].flatMap(Int.init), "\(limited.headers)")
        XCTAssertEqual(try http("GET", server, "/v1/secrets", token: other).status, 200, "buckets are per token")
        usleep(2_100_000)
        XCTAssertEqual(try http("GET", server, "/v1/secrets", token: token).status, 200, "refilled")
        // Writes have a bucket of their own: one write a burst here, then 429 with a longer wait.
        XCTAssertEqual(try http("PUT", server, "/v1/secrets/dev/a", token: token, body: "{\"value\":\"1\"}").status, 200)
        let write = try http("PUT", server, "/v1/secrets/dev/b", token: token, body: "{\"value\":\"2\"}")
        XCTAssertEqual(write.status, 429, write.text)
        XCTAssertEqual(write.headers["retry-after"], "2")
        // A history walks the whole log: it takes from the write bucket too.
        XCTAssertEqual(try http("GET", server, "/v1/history/dev/db", token: token).status, 429)
    }

    /// kill -9 while writes are running: after a restart the vault is
    /// whole (the next command finishes an interrupted commit), each
    /// acknowledged write is in history once, and retrying every request
    /// with its key never makes a second commit for it.
    func testKilledMidWriteLosesAndDuplicatesNothing() throws {
        try seed()
        let token = try makeToken(["--scope", "/", "--write", "--name", "w"])
        var server = try ServeProcess(self, ["--write-rate", "1000"])
        let curl = try requireTool("curl")
        let answers = path("answers")
        let loop = """
            for i in $(seq 1 200); do
              code=$(\(curl) -s -o "\(answers).$i" -w '%{http_code}' -X PUT -H 'Authorization: Bearer \(token)' \\
                -H "Idempotency-Key: key-$i" --data-binary "{\\"value\\":\\"v$i\\"}" "http://\(server.address)/v1/secrets/crash/s$i") || exit 0
              echo "$i $code" >> "\(answers)"
            done
            """
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", loop]
        try writer.run()
        // Let some writes land, then kill the server in the middle of the next.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, ((try? String(contentsOfFile: answers, encoding: .utf8)) ?? "").split(separator: "\n").count < 8 {
            usleep(10_000)
        }
        kill(server.pid, SIGKILL)
        server.process.waitUntilExit()
        writer.waitUntilExit()

        let acknowledged = (try String(contentsOfFile: answers, encoding: .utf8)).split(separator: "\n")
            .map { $0.split(separator: " ") }.filter { $0[1] == "200" }.map { Int($0[0])! }
        XCTAssertGreaterThanOrEqual(acknowledged.count, 8)
        server = try ServeProcess(self, ["--write-rate", "1000"])
        defer { server.stop() }
        try cofOK(["verify"])
        XCTAssertEqual(try gitOK(["status", "--porcelain"]).stdoutText, "")
        let attempted = acknowledged.count + 1
        for i in 1...attempted {
            let retry = try http("PUT", server, "/v1/secrets/crash/s\(i)", token: token, body: "{\"value\":\"v\(i)\"}",
                                 headers: ["Idempotency-Key": "key-\(i)"])
            let commits = try gitOK(["log", "--format=%H", "--", "crash/s\(i).age"]).stdoutText.split(separator: "\n")
            if acknowledged.contains(i) {
                XCTAssertEqual(retry.status, 200, retry.text)
                XCTAssertEqual(retry.headers["idempotent-replayed"], "true")
                let first = try Data(contentsOf: URL(fileURLWithPath: answers + ".\(i)"))
                XCTAssertEqual(retry.body, first, "the first answer again")
            } else {
                // Cut off: done once by the retry, or refused as interrupted; never twice.
                XCTAssertTrue([200, 409].contains(retry.status), retry.text)
            }
            XCTAssertLessThanOrEqual(commits.count, 1, "crash/s\(i) committed \(commits.count) times")
            if retry.status == 200 { XCTAssertEqual(commits.count, 1) }
        }
    }
}

