import CGit2

extension GitRepository {
    /// user.name and user.email from git config (repository, then global and
    /// system, as git resolves them), or nil if either is unset.
    public func configuredSignature() throws -> Signature? {
        if native != nil, let localConfig, let stack = try? GitConfigStack(gitDirectory: gitDirectory, local: localConfig) {
            do {
                guard let name = try stack.string("user.name"), let email = try stack.string("user.email") else { return nil }
                return Signature(name: name, email: email)
            } catch is NativeUnsupported {}
        }
        return try withConfigSnapshot { string in
            guard let name = try string("user.name"), let email = try string("user.email") else { return nil }
            return Signature(name: name, email: email)
        }
    }

    /// Runs `body` with a reader of string settings from one snapshot of
    /// git's config (repository, global, system, as git resolves them); the
    /// reader answers nil for a setting that is not there.
    func withConfigSnapshot<R>(_ body: ((String) throws -> String?) throws -> R) throws -> R {
        let lib = try lib
        let config = try withHandle { repo in
            try lib.make("git_repository_config_snapshot") { lib.repositoryConfigSnapshot($0, repo) }
        }
        defer { lib.configFree(config) }
        return try body { name in
            var value: UnsafePointer<CChar>?
            let rc = lib.configGetString(&value, config, name)
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try lib.check(rc, "git_config_get_string")
            return value.map { String(cString: $0) }
        }
    }

    /// Sets `name` in the repository's own config (`.git/config`), which is
    /// not versioned: each clone sets it for itself.
    public func setConfig(_ name: String, _ value: String) throws {
        let lib = try lib
        let config = try withHandle { repo in try lib.make("git_repository_config") { lib.repositoryConfig($0, repo) } }
        defer { lib.configFree(config) }
        try lib.check(lib.configSetString(config, name, value), "git_config_set_string")
    }
}
