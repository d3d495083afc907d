import GitStore

/// One libgit2 handle per vault for the life of the process. Never freed:
/// tearing down libgit2's object cache at exit cost history ~20 ms on a
/// 10,000-commit vault, and the process ends right after anyway.
enum Repositories {
    nonisolated(unsafe) private static var handles: [String: GitRepository] = [:]

    static func at(_ root: String) throws -> GitRepository {
        if let open = handles[root] { return open }
        let repo = try GitRepository.open(at: root)
        handles[root] = repo
        return repo
    }
}
