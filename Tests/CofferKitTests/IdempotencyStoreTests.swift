import Foundation
import XCTest
import Age
import Posix
@testable import CofferKit

/// `coffer serve`'s Idempotency-Keys (Tokens/IdempotencyStore): the first
/// answer replayed, another request under the same key refused, kept 24
/// hours across restarts as hashes only.
final class IdempotencyStoreTests: VaultTestCase {
    private var file: String { root + "/.git/coffer/idempotency" }

    private func lookup(_ store: IdempotencyStore, token: String = "ci", key: String, request: String,
                        now: Int = UTCTime.now()) -> IdempotencyStore.Lookup {
        Array(request.utf8).withUnsafeBytes { store.lookup(token: token, idempotencyKey: key, request: $0, now: now) }
    }

    private func begin(_ store: IdempotencyStore, token: String = "ci", key: String, request: String, now: Int = UTCTime.now()) throws {
        try Array(request.utf8).withUnsafeBytes { try store.begin(token: token, idempotencyKey: key, request: $0, now: now) }
    }

    private func finish(_ store: IdempotencyStore, token: String = "ci", key: String, request: String, body: String,
                        now: Int = UTCTime.now()) throws {
        try Array(request.utf8).withUnsafeBytes {
            try store.finish(token: token, idempotencyKey: key, request: $0, status: 200, body: body, now: now)
        }
    }

    /// A store that is closed (its lock released) before the next opens.
    private func reopen(now: Int = UTCTime.now()) throws -> IdempotencyStore { try IdempotencyStore.open(vault, now: now) }

    func testTheFirstAnswerIsReplayedAndAnotherRequestRefused() throws {
        var store: IdempotencyStore? = try reopen()
        let request = "PUT /v1/secrets/dev/a\n{\"value\":\"the-value\"}"
        XCTAssertEqual(lookup(store!, key: "k1", request: request), .fresh)
        try begin(store!, key: "k1", request: request)
        XCTAssertEqual(lookup(store!, key: "k1", request: request), .conflict(pending: true), "running: not done twice")
        try finish(store!, key: "k1", request: request, body: "{\"id\":\"dev/a\"}")
        XCTAssertEqual(lookup(store!, key: "k1", request: request), .replay(status: 200, body: "{\"id\":\"dev/a\"}"))
        XCTAssertEqual(lookup(store!, key: "k1", request: request + " "), .conflict(pending: false))
        XCTAssertEqual(lookup(store!, token: "other", key: "k1", request: request), .fresh, "keys are per token")

        // After a restart: the same, from the file, which holds no value and no key.
        store = nil
        store = try reopen()
        XCTAssertEqual(lookup(store!, key: "k1", request: request), .replay(status: 200, body: "{\"id\":\"dev/a\"}"))
        let text = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertFalse(text.contains("the-value") || text.contains("k1"), text)
        // The request's hash is keyed by the Idempotency-Key as well as the
        // host's key: the same request under two keys hashes apart, so the
        // file and the host key alone cannot check a guessed value.
        try begin(store!, key: "k2", request: request)
        let requests = Set(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: " ")[1] })
        XCTAssertEqual(requests.count, 2, "\(requests)")
        let mode = try (FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as! NSNumber).intValue
        XCTAssertEqual(mode & 0o777, 0o600)
    }

    func testAbandonedKeysAreFreeAndOldOnesForgotten() throws {
        var store: IdempotencyStore? = try reopen()
        try begin(store!, key: "refused", request: "r")
        try Array("r".utf8).withUnsafeBytes { try store!.abandon(token: "ci", idempotencyKey: "refused", request: $0) }
        XCTAssertEqual(lookup(store!, key: "refused", request: "r"), .fresh)
        let day = IdempotencyStore.lifetime, now = UTCTime.now()
        try begin(store!, key: "old", request: "o", now: now - day - 5)
        try finish(store!, key: "old", request: "o", body: "{}", now: now - day - 5)
        XCTAssertEqual(lookup(store!, key: "old", request: "o", now: now), .fresh, "forgotten after 24 hours")
        // A server stopped between its commit and its answer leaves the key pending: refused, never redone.
        try begin(store!, key: "cut", request: "c")
        store = nil
        store = try reopen()
        XCTAssertEqual(lookup(store!, key: "cut", request: "c"), .conflict(pending: true))
        XCTAssertEqual(lookup(store!, key: "refused", request: "r"), .fresh)
    }

    func testOneServerAtATimeAndDamageIsSaid() throws {
        do {
            let held = try reopen()
            let fast = try Vault.open(containing: root, configuration: Vault.Configuration(lockTimeout: 0.2))
            XCTAssertThrowsError(try IdempotencyStore.open(fast)) { XCTAssertEqual($0 as? VaultError, .idempotencyStoreBusy) }
            withExtendedLifetime(held) {}
        }

        try "coffer-idempotency 1\nnot a line\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try reopen()) { XCTAssertEqual($0 as? VaultError, .corruptIdempotencyStore(line: 2)) }
        // A last line cut short by a crash is dropped, not damage.
        let slot = String(repeating: "a", count: 64), request = String(repeating: "b", count: 64)
        try "coffer-idempotency 1\n\(slot) \(request) \(UTCTime.now()) 200 {}\n\(slot) bbb".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try reopen())
    }
}
