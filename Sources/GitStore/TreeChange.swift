/// One edit of a commit's tree, by path relative to the work tree root with
/// "/" separators. Blobs are written first (`GitRepository.writeBlob`), so a
/// change names content by id and never carries it.
public enum TreeChange: Equatable, Sendable {
    /// Creates or replaces the regular file (mode 0100644) at `path`.
    case write(path: String, blob: ObjectID)
    /// Removes the file at `path`; a missing path is a no-op.
    case delete(path: String)

    public var path: String {
        switch self {
        case .write(let path, _), .delete(let path): return path
        }
    }
}

/// A regular file in a commit's tree: its path from the root ("/"
/// separators) and the blob it holds.
public struct TreeEntry: Equatable, Sendable {
    public let path: String
    public let blob: ObjectID

    public init(path: String, blob: ObjectID) {
        self.path = path
        self.blob = blob
    }
}
