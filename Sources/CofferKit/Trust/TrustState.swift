#if canImport(Glibc)
import Glibc
#endif
import GitStore
import Posix
import SSHSig

/// This clone's root of trust and how far it has followed it:
/// `.git/coffer/trust`, never committed, so no push can reach it.
///
/// The root is pinned once — by `init`, by `signers init`, or by a person
/// who looked at the signers (`signers pin`, `setup --signer`) — and each
/// later commit's changes to `.signers`, `.recipients` and `.coffer-config`
/// are trusted only when a key in `.signers` as its parent had it signed
/// them (see `TrustChain`). What this file holds is the result: the
/// signers trusted now, the signing setting trusted now, the keys removed
/// (so their later signatures count for nothing), and every change held back.
struct TrustState: Equatable, Sendable {
    static let fileName = "coffer/trust"
    /// Left by the first look at a clone coffer never wrote: no seeding later.
    static let unpinnedMarker = "coffer/unpinned"

    /// The commit whose signers were pinned.
    var pinned: ObjectID
    /// What was pinned there: the chain restarts from it when history
    /// that still holds the pinned commit is rewritten (a rebase).
    var root: TrustChain.Snapshot
    /// The newest commit verified: history that no longer contains it was rewritten.
    var verified: ObjectID
    /// Whether the vault signs its commits, as trusted changes left it.
    var signing: Bool
    /// `.signers` as trusted changes left it (entries only).
    var signers: [AllowedSigner]
    /// Keys a trusted change removed from `.signers`, and by which commit.
    var removed: [RemovedSigner]
    /// Changes to trust files not applied here, oldest first.
    var held: [HeldChange]
    /// Something held back is in the verified commit's history: an unsigned
    /// merge of trust files no longer counts as trusted (see `TrustChain`).
    var tainted = false

    struct RemovedSigner: Equatable, Sendable {
        let commit: ObjectID
        let entry: AllowedSigner
    }

    /// The signers trusted now, one per principal.
    var trustedSigners: [Signer] {
        signers.flatMap { entry in entry.principals.map { Signer(name: $0, entry: entry) } }
    }

    // MARK: - The file

    private static let header = """
        # This clone's root of trust for the vault's signed history (coffer signers pin):
        # the signers and signing setting its verified commits leave trusted, and the
        # changes it held back. Not part of the vault's history.

        """

    var text: String {
        var text = TrustState.header
        text += "pinned \(pinned.hex)\nverified \(verified.hex)\nsigning \(signing ? "on" : "off")\n"
        text += "root-signing \(root.signing ? "on" : "off")\n"
        for entry in root.signers { text += "root-signer \(entry.line)\n" }
        for entry in signers { text += "signer \(entry.line)\n" }
        for gone in removed { text += "removed \(gone.commit.hex) \(gone.entry.line)\n" }
        if tainted { text += "tainted\n" }
        for change in held { text += "held \(change.commit.hex) \(change.reason.code)\t\(change.paths.joined(separator: "\t"))\n" }
        return text
    }

    /// A root pinned at `pinned`, verified up to it.
    init(pinned: ObjectID, signing: Bool, signers: [AllowedSigner]) {
        let single = TrustChain.single(signers)
        self.init(pinned: pinned, root: .init(signers: single, signing: signing), verified: pinned,
                  signing: signing, signers: single)
    }

    init(pinned: ObjectID, root: TrustChain.Snapshot, verified: ObjectID, signing: Bool, signers: [AllowedSigner],
         removed: [RemovedSigner] = [], held: [HeldChange] = []) {
        self.pinned = pinned
        self.root = root
        self.verified = verified
        self.signing = signing
        self.signers = signers
        self.removed = removed
        self.held = held
    }

    init(parsing text: String, path: String) throws {
        var pinned: ObjectID?, verified: ObjectID?, signing: Bool?, rootSigning: Bool?
        var signers: [AllowedSigner] = [], rootSigners: [AllowedSigner] = [], removed: [RemovedSigner] = [], held: [HeldChange] = []
        var tainted = false
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            if line == "tainted" {
                tainted = true
                continue
            }
            let fail = VaultError.invalidTrustState(path: path, line: n + 1)
            guard let space = line.firstIndex(of: " ") else { throw fail }
            let key = line[..<space], value = String(line[line.index(after: space)...])
            switch key {
            case "pinned": pinned = ObjectID(hex: value)
            case "verified": verified = ObjectID(hex: value)
            case "signing":
                guard value == "on" || value == "off" else { throw fail }
                signing = value == "on"
            case "root-signing":
                guard value == "on" || value == "off" else { throw fail }
                rootSigning = value == "on"
            case "signer", "root-signer":
                guard let entry = try? AllowedSigner(parsing: value) else { throw fail }
                if key == "signer" { signers.append(entry) } else { rootSigners.append(entry) }
            case "removed":
                guard let blank = value.firstIndex(of: " "), let commit = ObjectID(hex: String(value[..<blank])),
                      let entry = try? AllowedSigner(parsing: String(value[value.index(after: blank)...]))
                else { throw fail }
                removed.append(RemovedSigner(commit: commit, entry: entry))
            case "held":
                let fields = value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                let head = fields[0].split(separator: " ", maxSplits: 1).map(String.init)
                guard head.count == 2, let commit = ObjectID(hex: head[0]), let reason = HoldReason(code: head[1]) else { throw fail }
                held.append(HeldChange(commit: commit, reason: reason, paths: Array(fields.dropFirst())))
            default: throw fail
            }
        }
        guard let pinned, let verified, let signing, let rootSigning else { throw VaultError.invalidTrustState(path: path, line: 0) }
        self.init(pinned: pinned, root: .init(signers: rootSigners, signing: rootSigning), verified: verified,
                  signing: signing, signers: signers, removed: removed, held: held)
        self.tainted = tainted
    }

    /// The clone's trust state, nil when it has pinned no root yet.
    static func load(gitDirectory: String) throws -> TrustState? {
        let path = gitDirectory + "/" + fileName
        return try CloneFile.read(fileName, gitDirectory: gitDirectory).map { text in
            try parsed.value(path: path, text: text) { try TrustState(parsing: $0, path: path) }
        }
    }

    private static let parsed = ParsedText<TrustState>()

    func save(gitDirectory: String) throws {
        unlink(gitDirectory + "/" + TrustState.unpinnedMarker)
        // Not synced: lost to a power cut, it is judged again from an older commit.
        try CloneFile.write(text, to: TrustState.fileName, gitDirectory: gitDirectory, durable: false)
    }
}

/// A commit's change to trust files that this clone did not apply.
public struct HeldChange: Equatable, Sendable {
    public let commit: ObjectID
    public let reason: HoldReason
    /// The trust files it changed (`prod/.recipients`, `.signers`…).
    public let paths: [String]
}

/// Why a change to trust files was not trusted.
public enum HoldReason: Equatable, Sendable, CustomStringConvertible {
    /// The commit carries no signature.
    case unsigned
    /// Signed by a key not in `.signers` as the commit's parent had it.
    case unknownSigner(fingerprint: String)
    /// Signed by a key a trusted change removed from `.signers` before.
    case removedSigner(name: String, fingerprint: String)
    /// The signature does not verify: the commit was altered, or forged.
    case badSignature
    /// A merge whose trust files are not the set-merge of its parents', or
    /// that has a held-back change in its history (unsigned), or that puts
    /// a symlink or submodule where a trust file goes.
    case untrustedMerge
    /// A trusted signer's file that does not parse: nothing of it counts.
    case malformed
    /// A commit not descended from the pinned root (another history merged in).
    case foreignHistory

    var code: String {
        switch self {
        case .unsigned: return "unsigned"
        case .unknownSigner(let fingerprint): return "unknown-signer " + fingerprint
        case .removedSigner(let name, let fingerprint): return "removed-signer " + fingerprint + " " + name
        case .badSignature: return "bad-signature"
        case .untrustedMerge: return "untrusted-merge"
        case .malformed: return "malformed"
        case .foreignHistory: return "foreign-history"
        }
    }

    init?(code: String) {
        let parts = code.split(separator: " ", maxSplits: 2).map(String.init)
        switch (parts.first, parts.count) {
        case ("unsigned", 1): self = .unsigned
        case ("unknown-signer", 2): self = .unknownSigner(fingerprint: parts[1])
        case ("removed-signer", 3): self = .removedSigner(name: parts[2], fingerprint: parts[1])
        case ("bad-signature", 1): self = .badSignature
        case ("untrusted-merge", 1): self = .untrustedMerge
        case ("malformed", 1): self = .malformed
        case ("foreign-history", 1): self = .foreignHistory
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .unsigned: return "the commit is unsigned"
        case .unknownSigner(let fingerprint): return "signed by \(fingerprint), which is not a trusted signer"
        case .removedSigner(let name, let fingerprint): return "signed by \(Text.quoted(name)) (\(fingerprint)), removed from the signers before"
        case .badSignature: return "its signature does not verify"
        case .untrustedMerge: return "an unsigned merge whose history holds changes not trusted, or that is not a plain merge of both sides"
        case .malformed: return "the file it writes cannot be read"
        case .foreignHistory: return "it comes from a history that does not descend from this clone's pinned root"
        }
    }
}
