#if canImport(Glibc)
import Glibc
#endif
import Age
import CSodium
import Posix

/// This host's bearer tokens for `coffer serve`, under `.git/coffer/`
/// (never committed: a pushed token list would let anyone with push access
/// mint themselves a reveal token). `tokens` holds one line per token with
/// its keyed hash; `token-key` the 32-byte BLAKE2b key, both 0600. A token
/// is `cft_` and 64 hex digits (256 random bits), shown once when made.
struct TokenStore {
    static let fileName = "coffer/tokens"
    static let keyName = "coffer/token-key"
    static let header = "coffer-tokens 1"
    static let tokenPrefix = "cft_"
    static let tokenBytes = 32

    let gitDirectory: String

    /// The tokens, in the order they were made; none when there is no file.
    /// The tokens, in the order they were made; none when there is no file.
    /// Read only as coffer writes it: a repeated name or hash is damage too.
    func load() throws -> [AccessToken] {
        guard let text = try CloneFile.read(TokenStore.fileName, gitDirectory: gitDirectory) else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(TokenStore.header), lines.last == "" else { throw VaultError.corruptTokens(line: 1) }
        lines = lines.dropFirst().dropLast()
        var names: Set<String> = [], hashes: Set<String> = []
        return try lines.enumerated().map { index, line in
            guard let token = AccessToken(line: line), names.insert(token.name).inserted, hashes.insert(token.hash).inserted else {
                throw VaultError.corruptTokens(line: index + 2)
            }
            return token
        }
    }

    func save(_ tokens: [AccessToken]) throws {
        let text = ([TokenStore.header] + tokens.map(\.line)).joined(separator: "\n") + "\n"
        try CloneFile.write(text, to: TokenStore.fileName, gitDirectory: gitDirectory)
    }

    /// The hashing key, made (random, 0600) with the first token. Missing
    /// while tokens exist, it is damage, not a reason to make a new one
    /// (which would silently void them all).
    func key(creating: Bool, tokensExist: Bool) throws -> SecureBytes? {
        let path = gitDirectory + "/" + TokenStore.keyName
        do {
            let key = try Files.readSecretRegularFile(path: path, limit: Digest.keyedHashSize)
            guard key.count == Digest.keyedHashSize else { throw VaultError.corruptTokens(line: 0) }
            return key
        } catch FileError.open(_, ENOENT) {
            guard !tokensExist else { throw VaultError.corruptTokens(line: 0) }
        } catch let error as FileError {
            throw VaultError.file(error)
        }
        guard creating else { return nil }
        let key = SecureBytes.random(count: Digest.keyedHashSize)
        do {
            try Files.makeDirectories(CloneFile.directory(gitDirectory: gitDirectory))
            let file = try AtomicFileSink(path: path, mode: 0o600, writingThrough: false)
            try key.withUnsafeBytes { try file.write($0) }
            try file.commit()
        } catch let error as FileError {
            throw VaultError.file(error)
        }
        return key
    }

    /// A fresh token: `cft_` and 64 hex digits, in a wiped buffer.
    static func newToken() -> SecureBytes {
        let random = SecureBytes.random(count: tokenBytes)
        let prefix = Array(tokenPrefix.utf8)
        // sodium_bin2hex writes a NUL after the digits: one byte more, cut after.
        let token = SecureBytes(count: prefix.count + 2 * tokenBytes + 1)
        token.withUnsafeMutableBytes { out in
            for (i, byte) in prefix.enumerated() { out[i] = byte }
            random.withUnsafeBytes { bytes in
                _ = sodium_bin2hex(out.baseAddress!.advanced(by: prefix.count).assumingMemoryBound(to: CChar.self),
                                   2 * tokenBytes + 1, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
            }
        }
        token.truncate(to: prefix.count + 2 * tokenBytes)
        return token
    }

    /// True when `bytes` has a token's shape (checked before hashing, so a
    /// malformed header costs nothing and says nothing).
    static func hasTokenShape(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let prefix = Array(tokenPrefix.utf8)
        return bytes.count == prefix.count + 2 * tokenBytes && bytes.prefix(prefix.count).elementsEqual(prefix)
            && bytes.dropFirst(prefix.count).allSatisfy(AccessToken.isHex)
    }

    /// The keyed hash of a token, hex.
    static func hash(_ token: UnsafeRawBufferPointer, key: SecureBytes) -> String {
        Text.hex(Digest.keyedHash(token, key: key))
    }
}
