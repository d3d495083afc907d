import GitStore
import Posix

/// A change of `.coffer-config`, with the bytes HEAD held when it was
/// planned: if they changed before the commit, nothing is written (no lost
/// update).
struct ConfigEdit {
    let config: VaultConfig
    let base: [UInt8]?
    /// `key=value` for each setting changed: the commit's subject and trailers.
    let settings: [String]
}

/// The vault's committed settings (`.coffer-config` at its root) and the
/// use case that changes them. A change is a trust change: the commit that
/// makes it is signed whatever the setting says (see `signsCommit`).
extension Vault {
    /// The settings as HEAD records them; the defaults when the vault has no
    /// `.coffer-config`. A work-tree file that differs from HEAD's is
    /// refused, as for `.signers`: settings come from the history.
    public func config() throws -> VaultConfig {
        let bytes = try committedConfig()
        return try bytes.map(VaultConfig.init(parsing:)) ?? VaultConfig()
    }

    /// Plans turning commit signing on or off, one commit changing only
    /// `.coffer-config`. When the vault already has that setting the plan
    /// changes nothing (`ChangePlan.changesNothing`), and applying it makes
    /// no commit. A committed file coffer cannot parse is written anew.
    public func planSigning(_ on: Bool) throws -> ChangePlan {
        let bytes = try committedConfig()
        let current = try? bytes.map(VaultConfig.init(parsing:)) ?? VaultConfig()
        if current?.signing == on { return ChangePlan(action: .config, changes: [], secretCount: 0) }
        var config = current ?? VaultConfig()
        config.signing = on
        let edit = ConfigEdit(config: config, base: bytes, settings: ["signing=\(on ? "on" : "off")"])
        return ChangePlan(action: .config, changes: [.setConfig(edit)], secretCount: 0)
    }

    /// HEAD's `.coffer-config`, refused when the work tree's differs.
    private func committedConfig() throws -> [UInt8]? {
        try committedRootFile(VaultConfig.fileName, limit: VaultConfig.maxSize, uncommitted: VaultError.uncommittedConfig)
    }
}

extension VaultConfig {
    init(parsing bytes: [UInt8]) throws {
        try self.init(parsing: String(decoding: bytes, as: UTF8.self), path: VaultConfig.fileName)
    }

    /// Whether the commit of `changes` on `head` is signed: unless the
    /// setting is off both before and after it. So the commit turning
    /// signing off (or on) is signed, as any trust change must be, and only
    /// the commits after it are not. "Off before" needs HEAD's file to say
    /// so and, when the clone keeps a trust state (`trusted`), the chain of
    /// trust to agree: an unsigned or untrusted commit that turned it off
    /// does not stop this clone signing.
    static func signsCommit(_ changes: [VaultChange], repo: GitRepository, head: ObjectID?, trusted: Bool?) -> Bool {
        let headOff = signingOff(in: repo, at: head)
        var after = headOff
        for case .setConfig(let edit) in changes { after = !edit.config.signing }
        return !(headOff && trusted != true && after)
    }

    /// True when `commit`'s `.coffer-config` says `signing = off`: one blob
    /// lookup. A file coffer cannot read or parse says nothing, so the
    /// commit is signed: a doubt never turns signing off.
    private static func signingOff(in repo: GitRepository, at commit: ObjectID?) -> Bool {
        guard let commit, let blob = try? repo.blob(at: fileName, in: commit), let bytes = try? repo.readBlob(blob),
              let config = try? VaultConfig(parsing: bytes)
        else { return false }
        return !config.signing
    }
}
