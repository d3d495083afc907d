import Age
import GitStore
import Posix

/// A re-key or re-wrap of many ids reads, before staging them one by one,
/// every committed file they name and whether each is already sealed as it
/// should be, across the cores; and computes each scope's reader
/// fingerprints once. The results are taken (and dropped) by `stage`.
extension Staging {
    mutating func fingerprints(for id: SecretID, _ readers: [NamedRecipient]) -> [String] {
        if let known = fingerprintsOfDirectory[id.directory] { return known }
        let computed = readers.map(\.fingerprint)
        fingerprintsOfDirectory[id.directory] = computed
        return computed
    }

    /// Reads ahead, across the cores, the committed files of the ids that
    /// many re-wraps or re-keys name: the reads are libgit2 inflating one
    /// object each, a third of staging's time when done one by one.
    mutating func prefetchCommitted(_ changes: [VaultChange]) throws {
        guard let committedBlobs else { return }
        let wanted = changes.compactMap { change -> (path: String, blob: ObjectID)? in
            switch change {
            case .rewrap(let id), .rekey(let id): return committedBlobs[id.relativePath].map { (id.relativePath, $0) }
            default: return nil
            }
        }
        prefetched = Dictionary(zip(wanted.map(\.path), try repo.readBlobs(wanted.map(\.blob))), uniquingKeysWith: { first, _ in first })
        // Whether each re-wrap is a no-op (a header parse), also across the
        // cores. A scope's readers are checked here, as `stage` would (its
        // refusal comes first then, before any other change's: nothing is
        // written either way); the checks are never skipped.
        var checks: [(path: String, id: SecretID, file: [UInt8], readers: [NamedRecipient], fingerprints: [String])] = []
        for case .rewrap(let id) in changes {
            guard let file = prefetched[id.relativePath] else { continue }
            let readers = try readers(for: id).readers
            checks.append((id.relativePath, id, file, readers, fingerprints(for: id, readers)))
        }
        let sealed = try Parallel.map(checks) { Sealing.isSealed($0.file, id: $0.id, for: $0.readers, fingerprints: $0.fingerprints) }
        alreadySealed = Dictionary(zip(checks.map(\.path), sealed), uniquingKeysWith: { first, _ in first })
    }
}
