import Age
import Posix

/// `MergeDriver` behind git's merge-driver contract (`merge.coffer.driver =
/// … %O %A %B %P`): three temporary files in, the result written into ours'.
///
/// On a conflict ours' file is left exactly as git wrote it, ours' sealed
/// bytes, so a stopped merge never puts conflict markers, let alone a value,
/// in the work tree; git keeps both sides in the index (`:2:` and `:3:`).
public enum MergeDriverFiles {
    /// Merges the files at `base`, `ours` and `theirs` for `path` (relative
    /// to the vault root). An empty base file is no base: git passes one for
    /// a path both sides added, and no sealed or trust file is ever empty.
    public static func merge(base: String, ours: String, theirs: String, path: String,
                             identities: [Identity]) throws -> MergeDriver.Result {
        let limit = Sealing.maxFileSize
        let baseBytes = try Files.readRegularFile(path: base, limit: limit)
        let ourBytes = try Files.readRegularFile(path: ours, limit: limit)
        let theirBytes = try Files.readRegularFile(path: theirs, limit: limit)
        let result = MergeDriver.merge(path: path, base: baseBytes.isEmpty ? nil : baseBytes, ours: ourBytes, theirs: theirBytes,
                                       identities: identities)
        if case .merged(let bytes, _) = result, bytes != ourBytes {
            // Renamed over ours' file: git reads it back by name, and a crash
            // mid-write leaves ours' bytes rather than a torn file.
            let sink = try AtomicFileSink(path: ours, mode: 0o644, durable: false, writingThrough: false)
            try bytes.withUnsafeBytes { try sink.write($0) }
            try sink.commit()
        }
        return result
    }
}
