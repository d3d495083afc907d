import Foundation
import XCTest
import Age
import Posix
import SSHSig
@testable import CofferKit

/// A fresh vault per test in its own temporary directory, read by `me`
/// (named "me"), removed in tearDown. Helpers set values through the public
/// plan/apply API and commit hand-made files with the stock `git` CLI.
class VaultTestCase: XCTestCase {
    /// The temporary directory of this test (the vault is `directory + "/vault"`).
    var directory = ""
    var me = X25519Identity.generate()
    var vault: Vault!

    /// Writes give up fast when the lock is held (tests hold it on purpose).
    static let configuration = Vault.Configuration(lockTimeout: 0.2, authorName: "coffer-test")

    var root: String { vault.root }
    var mine: Set<ReaderKey> { [me.recipient.reader] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        let template = NSTemporaryDirectory() + "/coffer-kit-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw FileError.write(path: template, errno: errno) }
        // Resolved, so paths compare equal to what the vault reports.
        directory = Paths.normalized(URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path)
        me = X25519Identity.generate()
        vault = try makeVault(at: directory + "/vault", readers: [named(me, "me")])
    }

    override func tearDownWithError() throws {
        vault = nil
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
        try super.tearDownWithError()
    }

    func makeVault(at path: String, readers: [NamedRecipient], signers: [Signer] = []) throws -> Vault {
        try Vault.create(at: path, readers: readers, signers: signers, configuration: VaultTestCase.configuration)
    }

    /// Replaces `vault` with one whose commits `key` signs and whose pinned
    /// `.signers` trusts `key` as "me": coffer as the CLI runs it with an
    /// identity, where history shows each commit's action as verified.
    func useSignedVault(key: SSHSigningKey = .generate()) throws {
        vault = try Vault.create(at: directory + "/signed", readers: [named(me, "me")],
                                 signers: [try Signer(name: "me", key: key.publicKey)],
                                 configuration: VaultTestCase.configuration, commitSigner: CommitSigner(key: key))
    }

    func named(_ identity: X25519Identity, _ name: String?) -> NamedRecipient {
        NamedRecipient(recipient: identity.recipient, name: name)
    }

    func id(_ text: String) -> SecretID { try! SecretID(text) }

    func bytes(_ text: String) -> SecureBytes { SecureBytes(copying: Array(text.utf8)) }

    func string(_ value: SecureBytes) -> String { value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// Seals values through `planSet`/`apply` (confirming any risk) in one commit.
    @discardableResult
    func set(_ values: KeyValuePairs<String, String>, in target: Vault? = nil,
             identities: [Identity]? = nil) throws -> ChangeOutcome {
        let vault = target ?? self.vault!
        var plan = try vault.planSet(values.map { (id($0.key), bytes($0.value)) }, me: nil)
        plan.confirm()
        return try vault.apply(plan, identities: identities ?? [me])
    }

    /// The current value of `id` as `identities` (default `me`) read it.
    func value(_ text: String, at revision: String? = nil, in target: Vault? = nil, identities: [Identity]? = nil) throws -> String {
        string(try (target ?? vault).read(id(text), at: revision, identities: identities ?? [me]))
    }

    /// Asserts that `body` throws exactly `expected`.
    func assertThrows<T>(_ expected: VaultError, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? VaultError, expected, "\(error)", file: file, line: line)
        }
    }

    // MARK: files

    func path(_ relative: String) -> String { root + "/" + relative }

    func read(_ relative: String) throws -> [UInt8] { try Files.read(path: path(relative)) }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: full, contents: Data(bytes)), full)
    }

    func write(_ relative: String, _ text: String) throws { try write(relative, Array(text.utf8)) }

    /// The payload offset of a sealed file (the byte after the header).
    func payloadOffset(_ file: [UInt8]) throws -> Int { try Header.parse(file).payloadOffset }

    // MARK: peers

    /// Runs a stock tool in the vault (or `dir`) and returns its output; a
    /// non-zero exit fails unless `expectSuccess` is false.
    @discardableResult
    func run(_ name: String, _ arguments: [String], in dir: String? = nil, expectSuccess: Bool = true,
             file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, output: String, error: String) {
        try runPeer(name, arguments, in: dir ?? root, expectSuccess: expectSuccess, file: file, line: line)
    }

    @discardableResult
    func git(_ arguments: String..., in dir: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try run("git", arguments, in: dir, file: file, line: line).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits files of the work tree as they are, with the stock git CLI
    /// (what a user editing by hand, or a colleague's push, does).
    func commitByHand(_ paths: [String], message: String = "by hand") throws {
        try run("git", ["add", "--"] + paths)
        try run("git", ["commit", "-q", "-m", message, "--"] + paths)
    }

    /// Gives `scope` its own committed `.recipients` naming `readers`,
    /// without re-sealing anything (as a hand edit committed with git would),
    /// then accepts them in this clone (`recipients accept`) unless told not to.
    func commitRecipients(_ scope: String, _ readers: [NamedRecipient], accept: Bool = true) throws {
        let relative = scope.isEmpty ? ".recipients" : scope + "/.recipients"
        try write(relative, RecipientsFile(entries: readers).text)
        try commitByHand([relative], message: "readers of \(scope)")
        if accept { try acceptAll() }
    }

    /// Accepts every reader change in the work tree, as `recipients accept --yes` does.
    func acceptAll() throws {
        _ = try vault.acceptReaders(in: nil, shown: try vault.unacceptedReaders())
    }

    /// The number of commits on HEAD.
    func commitCount(_ target: Vault? = nil) throws -> Int {
        Int(try git("rev-list", "--count", "HEAD", in: (target ?? vault).root)) ?? -1
    }
}
