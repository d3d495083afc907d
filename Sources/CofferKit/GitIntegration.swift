#if canImport(Glibc)
import Glibc
#endif
import Age
import GitStore

/// How the stock git CLI shows sealed files: `.gitattributes` (versioned)
/// routes `*.age` through the `coffer` diff driver, whose textconv command is
/// set per clone in `.git/config` (not versioned) by `init` and `setup`.
public enum GitIntegration {
    static let attributesFile = ".gitattributes"
    static let attributes = "# coffer: show sealed files in git diff/log -p as id, readers and payload digest\n*.age diff=coffer\n"

    /// Points this clone's `diff.coffer.textconv` at `executable textconv`.
    public static func configure(_ vault: Vault, executable: String) throws {
        let repo = try Repositories.at(vault.root)
        try repo.setConfig("diff.coffer.textconv", "'\(executable)' textconv")
        // Never cache: a cached conversion would keep whatever was shown.
        try repo.setConfig("diff.coffer.cachetextconv", "false")
    }

    /// The path of the running executable, for the driver entry.
    public static var currentExecutable: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "coffer"
    }

    /// The text git diffs for a sealed file: its id, its readers (by name
    /// where the vault's `.recipients` knows them) and a digest of the
    /// encrypted payload, which changes exactly when the value was re-encrypted.
    /// No key is needed and no value is shown, unless `value` is given.
    public static func describe(_ file: [UInt8], vault: Vault?, value: SecureBytes? = nil) -> String {
        guard let (header, offset) = try? Header.parse(file) else {
            return "not a valid age file (\(file.count) bytes)\n"
        }
        let binding = header.stanzas.first { $0.type == Sealing.bindingType }
        guard let id = binding?.arguments.first else {
            return "age file without a coffer binding, \(header.stanzas.count) stanzas\n"
        }
        var names: [String: String] = [:]
        if let vault, let secret = try? SecretID(id), let scope = try? vault.scope(for: secret) {
            for reader in scope.readers { names[reader.fingerprint] = reader.name }
        }
        let readers = (binding?.arguments.dropFirst() ?? []).map { fp in names[fp].map { "\($0) (\(fp))" } ?? fp }
        let digest = Digest.sha256(Array(file[offset...])).prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        var text = "coffer secret \(id)\nreaders: \(readers.joined(separator: ", "))\npayload: \(digest)\n"
        if let value { text += "value: " + value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } + "\n" }
        return text
    }
}

/// One difference between two states of the vault.
public struct SecretDifference: Equatable {
    public enum Kind: String { case added, changed, rewrapped, removed }
    public let id: SecretID
    public let kind: Kind
    public let old: [UInt8]?
    public let new: [UInt8]?
}

extension Vault {
    /// Which secrets differ between two revisions, or (with `to` nil) between
    /// `from` (default HEAD) and the work tree. Compares sealed bytes only.
    public func differences(from: String?, to: String?) throws -> [SecretDifference] {
        let repo = try Repositories.at(root)
        func commit(_ revision: String) throws -> ObjectID {
            guard let id = try repo.resolve(revision) else { throw VaultError.noSuchRevision(id: "vault", revision: revision) }
            return id
        }
        func snapshot(_ commitID: ObjectID?) throws -> [SecretID: [UInt8]] {
            var out: [SecretID: [UInt8]] = [:]
            guard let commitID else {
                for id in try list() { out[id] = try sealedFile(id) }
                return out
            }
            for entry in try repo.files(in: commitID, under: "") {
                if let id = SecretID(relativePath: entry.path) { out[id] = try repo.readBlob(entry.blob) }
            }
            return out
        }
        let base = try from.map(commit) ?? repo.head()
        let old = try base.map { try snapshot($0) } ?? [:]
        let new = try snapshot(to.map(commit))
        var result: [SecretDifference] = []
        for id in Set(old.keys).union(new.keys).sorted() {
            switch (old[id], new[id]) {
            case (nil, let n?): result.append(SecretDifference(id: id, kind: .added, old: nil, new: n))
            case (let o?, nil): result.append(SecretDifference(id: id, kind: .removed, old: o, new: nil))
            case (let o?, let n?) where o != n:
                result.append(SecretDifference(id: id, kind: Sealing.samePayload(o, n) ? .rewrapped : .changed, old: o, new: n))
            default: continue
            }
        }
        return result
    }
}
