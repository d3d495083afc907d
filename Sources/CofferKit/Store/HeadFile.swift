import Posix

/// The commit HEAD names, read from git's files without libgit2 (which
/// commands that only read the work tree never load): HEAD, then the
/// branch's loose ref, then `packed-refs`. Nil for an unborn branch or
/// anything unexpected; callers use it for a record, never for a decision.
enum HeadFile {
    static func commit(gitDirectory git: String) -> String? {
        guard let head = try? text(git + "/HEAD") else { return nil }
        guard head.hasPrefix("ref: ") else { return isCommitID(head) ? head : nil }
        let ref = String(head.dropFirst(5))
        guard ref.hasPrefix("refs/"), !ref.contains("..") else { return nil }
        if let loose = try? text(git + "/" + ref) { return isCommitID(loose) ? loose : nil }
        guard let packed = try? text(git + "/packed-refs", limit: 1 << 24) else { return nil }
        for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
            let id = String(line.prefix { $0 != " " })
            return isCommitID(id) ? id : nil
        }
        return nil
    }

    private static func text(_ path: String, limit: Int = 4096) throws -> String {
        String(decoding: try Files.readRegularFile(path: path, limit: limit), as: UTF8.self).trimming("\n\r ")
    }

    private static func isCommitID(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64) && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
