import CGit2
import Posix

extension GitRepository {
    /// Stores `bytes` as a blob (flushed by the caller's `FileSystemSync`) and returns its id. The bytes are
    /// meant to be sealed files: a blob is pushed wherever the history goes.
    public func writeBlob(_ bytes: [UInt8]) throws -> ObjectID {
        try writeObject(.blob, bytes)
    }

    /// The bytes of blob `id`; throws GIT_ENOTFOUND (-3) if there is none.
    public func readBlob(_ id: ObjectID) throws -> [UInt8] {
        try readObject(id, as: .blob)
    }

    /// The bytes of many blobs, read across the cores. A handle is not
    /// shared between threads, so each share of the ids (8 a core, as
    /// `Parallel` hands out 8 items at a time) opens its own; libgit2 shares
    /// the packs' mappings between handles. Results in the order of `ids`.
    public func readBlobs(_ ids: [ObjectID]) throws -> [[UInt8]] {
        let cores = ProcessInfoLite.activeProcessorCount
        guard cores > 1, ids.count >= 512 else { return try ids.map(readBlob) }
        let share = (ids.count + cores * 8 - 1) / (cores * 8)
        let shares = stride(from: 0, to: ids.count, by: share).map { Array(ids[$0..<min($0 + share, ids.count)]) }
        let root = workTree
        return try Parallel.map(shares) { share in
            let repository = try GitRepository.open(at: root)
            return try share.map(repository.readBlob)
        }.flatMap { $0 }
    }
}
