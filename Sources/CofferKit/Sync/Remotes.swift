import GitStore
import Posix

extension Vault {
    /// The remotes this clone syncs with.
    public func remotes() throws -> [Remote] { try repo().remotes() }

    public func addRemote(name: String, url: String) throws {
        try Text.refuseSecretKey(url, as: "the remote URL")
        try writing { try repo().addRemote(name: name, url: url) }
    }

    public func removeRemote(name: String) throws {
        try writing { try repo().removeRemote(name: name) }
    }

    /// Clones the vault at `url` into `directory` (absolute, new or empty),
    /// checking out the remote's branch — its HEAD's if that exists, else
    /// its only one. A remote that holds no vault (an empty one, or another
    /// repository) is refused and leaves nothing behind. The clone still
    /// needs `GitIntegration.configure` and a pin.
    public static func clone(_ url: String, into directory: String, credentials: TransferCredentials) throws {
        try Text.refuseSecretKey(url, as: "the remote URL")
        guard directory.hasPrefix("/") else { throw VaultError.notAbsolute(path: directory) }
        // A path here that is not there: libgit2 would call it an unsupported protocol.
        if let missing = missingLocalPath(url, relativeTo: nil) {
            throw VaultError.remoteMissing(remote: missing, path: missing)
        }
        _ = try GitRepository.clone(url: url, into: directory, credentials: credentials) { _ in
            guard isVault(directory) else { throw VaultError.remoteNotAVault }
        }
    }
}
