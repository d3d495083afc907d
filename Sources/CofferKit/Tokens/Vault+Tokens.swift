import Age
import CSodium
import Posix

/// The bearer tokens `coffer serve` accepts on this host (`coffer token`).
extension Vault {
    private var tokenStore: TokenStore { TokenStore(gitDirectory: gitDirectory) }

    /// Serializes changes to the token list (the server only reads it).
    private func withTokenLock<R>(_ body: () throws -> R) throws -> R {
        do {
            try Files.makeDirectories(CloneFile.directory(gitDirectory: gitDirectory))
            let lock = try DirectoryLock(path: gitDirectory + "/coffer/tokens.lock", timeout: configuration.lockTimeout)
            return try withExtendedLifetime(lock) { try body() }
        } catch let error as FileError {
            throw VaultError.file(error)
        }
    }

    /// Makes a token reaching `prefixes` with `rights`, for `lifetime`
    /// seconds (nil: until revoked). Returns its record and the token,
    /// which is kept nowhere: show it once.
    public func createToken(name: String?, prefixes: [AccessToken.Scope], rights: AccessToken.Rights, lifetime: Int?,
                            now: Int = UTCTime.now()) throws -> (AccessToken, SecureBytes) {
        try withTokenLock {
            // Nothing is widened by default: no prefix is an error, not every id.
            guard !prefixes.isEmpty else { throw VaultError.invalidTokenScope }
            if let lifetime, !(1...AccessToken.longestLifetime).contains(lifetime) { throw VaultError.invalidTokenLifetime }
            let store = tokenStore
            var tokens = try store.load()
            let name = name ?? Vault.nextTokenName(after: tokens)
            guard AccessToken.isValidName(name) else { throw VaultError.invalidTokenName(name) }
            guard !tokens.contains(where: { $0.name == name }) else { throw VaultError.tokenExists(name: name) }
            let key = try store.key(creating: true, tokensExist: !tokens.isEmpty)!
            let token = TokenStore.newToken()
            let hash = token.withUnsafeBytes { TokenStore.hash($0, key: key) }
            let record = AccessToken(name: name, prefixes: prefixes, rights: rights.union(.read),
                                     created: now, expires: lifetime.map { now + $0 }, hash: hash)
            tokens.append(record)
            // A token is a lasting capability: its making is recorded (never the
            // token), first, so that no token exists that the log does not name.
            try audit(action: "token-create:" + name, ids: prefixes.map(\.description), commit: nil)
            try store.save(tokens)
            return (record, token)
        }
    }

    /// This host's tokens, oldest first (expired ones too, until revoked).
    public func tokens() throws -> [AccessToken] { try tokenStore.load() }

    /// Removes the token named `name`; it is refused from then on.
    @discardableResult
    public func revokeToken(named name: String) throws -> AccessToken {
        try withTokenLock {
            let store = tokenStore
            var tokens = try store.load()
            guard let index = tokens.firstIndex(where: { $0.name == name }) else { throw VaultError.noSuchToken(name: name) }
            let removed = tokens.remove(at: index)
            try audit(action: "token-revoke:" + name, ids: removed.prefixes.map(\.description), commit: nil)
            try store.save(tokens)
            return removed
        }
    }

    /// What a bearer token is on this host.
    public enum Authentication: Equatable, Sendable {
        case valid(AccessToken)
        /// One of this host's, past its expiry (its holder may be told).
        case expired(AccessToken)
        /// Not one of this host's: never made, revoked, or not a token at all.
        case unknown
    }

    /// The token `bearer` is, when it is one of this host's and has not
    /// expired; nil otherwise (which of the two is not said). Every stored
    /// hash is compared in constant time.
    public func authenticate(bearer: UnsafeRawBufferPointer, now: Int = UTCTime.now()) throws -> AccessToken? {
        guard case .valid(let token) = try check(bearer: bearer, now: now) else { return nil }
        return token
    }

    /// Like `authenticate`, saying whether a token it refuses expired.
    public func check(bearer: UnsafeRawBufferPointer, now: Int = UTCTime.now()) throws -> Authentication {
        guard TokenStore.hasTokenShape(bearer) else { return .unknown }
        let tokens = try tokenStore.load()
        guard !tokens.isEmpty, let key = try tokenStore.key(creating: false, tokensExist: true) else { return .unknown }
        let hash = Array(TokenStore.hash(bearer, key: key).utf8)
        var found: AccessToken?
        for token in tokens where Vault.constantTimeEqual(Array(token.hash.utf8), hash) {
            found = token
        }
        guard let found else { return .unknown }
        return found.hasExpired(at: now) ? .expired(found) : .valid(found)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && sodium_memcmp(a, b, a.count) == 0
    }

    /// `token-N`, one past the highest such name.
    static func nextTokenName(after tokens: [AccessToken]) -> String {
        // Numbers beyond any real count (a name chosen by hand) are passed over.
        let numbers = tokens.compactMap { $0.name.hasPrefix("token-") ? Int($0.name.dropFirst(6)) : nil }.filter { $0 < 1 << 32 }
        return "token-\((numbers.max() ?? 0) + 1)"
    }
}
