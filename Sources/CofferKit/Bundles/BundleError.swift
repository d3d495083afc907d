import Tar

/// Why a bundle was refused or could not be made. Every check runs before
/// anything is written, so each of these leaves the vault as it was. Cases
/// name ids, paths, principals and fingerprints — never a value or key.
public enum BundleError: Error, Equatable, Sendable, CustomStringConvertible {
    case archive(TarError)
    case missingManifest
    case manifestMalformed
    case unsupportedVersion
    /// A member other than `manifest`, `manifest.sig` and `secrets/<id>.age`.
    case unexpectedMember(path: String)
    /// Listed in the manifest, absent from the archive (dropped).
    case entryMissing(id: SecretID)
    /// In the archive, not in the manifest (added).
    case entryNotListed(path: String)
    /// Its size or SHA-256 differs from the manifest's (altered).
    case entryAltered(id: SecretID)
    /// The entry opens but is bound to another id (swapped).
    case entryBoundElsewhere(id: SecretID, boundTo: String)
    /// No destination identity opens the entry.
    case notForYou(id: SecretID)
    case entryDamaged(id: SecretID, reason: String)
    case unsigned
    case badSignature(reason: String)
    /// Signed by a key neither `--signer` nor `.signers` trusts.
    /// `claimed`: the principal the manifest names (the source vault's name for the key).
    case untrustedSigner(fingerprint: String, claimed: String)
    /// Not newer than the last bundle imported from this signer for this prefix.
    case older(signer: String, prefix: String, created: String, newest: String)
    /// Ids that exist here with another value; `--merge` or `--replace` decides.
    case conflicts([SecretID])
    /// Secrets the exporter cannot open (and so cannot re-wrap).
    case unreadable([SecretID])
    case nothingToExport(Prefix)
    /// Made more than a day ahead of this machine's clock.
    case fromTheFuture(created: String)
    /// `.imported` is not as coffer writes it.
    case recordsMalformed(line: Int)
    case noDestination

    public var description: String {
        switch self {
        case .archive(let error): return "not a readable bundle: \(error)"
        case .missingManifest: return "not a bundle: no manifest"
        case .manifestMalformed: return "the bundle's manifest is not in coffer's format (edited or damaged)"
        case .unsupportedVersion: return "the bundle was made by a newer coffer (unknown manifest version)"
        case .unexpectedMember(let path): return "the bundle holds \(Text.quoted(path)), which no bundle has"
        case .entryMissing(let id): return "the bundle lacks \(id), which its manifest lists (an entry was dropped)"
        case .entryNotListed(let path): return "the bundle holds \(Text.quoted(path)), which its manifest does not list (an entry was added)"
        case .entryAltered(let id): return "the bundle's \(id) does not match its manifest (size or SHA-256): it was altered"
        case .entryBoundElsewhere(let id, let other): return "the bundle's \(id) is bound to \(Text.quoted(other)): entries were swapped"
        case .notForYou(let id): return "the bundle's \(id) is not sealed for your identity"
        case .entryDamaged(let id, let reason): return "the bundle's \(id) is damaged: \(reason)"
        case .unsigned: return "the bundle is not signed"
        case .badSignature(let reason): return "the bundle's signature does not verify: \(reason)"
        case .untrustedSigner(let fingerprint, let claimed):
            return "the bundle is signed by \(fingerprint) (who calls themselves \(Text.quoted(claimed))), which this vault's .signers does not trust"
        case .older(let signer, let prefix, let created, let newest):
            return "the bundle from \(Text.quoted(signer)) for \(prefix) was made \(created), not after the last one imported for an overlapping prefix (\(newest)): a replay?"
        case .conflicts(let ids): return "\(ids.count == 1 ? "1 id exists" : "\(ids.count) ids exist") here with other values: " + ids.prefix(10).map(\.value).joined(separator: ", ") + (ids.count > 10 ? ", …" : "")
        case .unreadable(let ids): return "you cannot open \(ids.count) of the secrets to export: " + ids.prefix(10).map(\.value).joined(separator: ", ") + (ids.count > 10 ? ", …" : "")
        case .nothingToExport(let prefix): return "no secrets under \(prefix)"
        case .fromTheFuture(let created):
            return "the bundle says it was made \(created), more than a day ahead of this machine's clock; accepting it would refuse every later bundle from its signer"
        case .recordsMalformed(let line): return "\(ImportRecords.fileName) line \(line) is not a signer, prefix and time"
        case .noDestination: return "a bundle needs at least one destination recipient"
        }
    }
}
