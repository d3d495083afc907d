#if canImport(Glibc)
import Glibc
#endif

/// A commit object parsed from its raw bytes, as libgit2 parses one: "tree"
/// first, then "parent" lines, "author", "committer", other headers, a
/// blank line and the message.
struct Commit {
    let id: ObjectID
    let treeID: ObjectID
    let parents: [ObjectID]
    let author: ParsedSignature
    let committer: ParsedSignature
    /// Everything after the blank line that ends the header, leading
    /// newlines dropped (as `git_commit_message` gives it).
    let message: String

    /// A signature line's parts, read as libgit2 reads one (the last "<"
    /// and ">" delimit the email; a time it cannot read is 0).
    struct ParsedSignature {
        let name: String
        let email: String
        let time: Int64
    }

    init(_ id: ObjectID, in repository: GitRepository) throws {
        try self.init(id, bytes: repository.readObject(id, as: .commit))
    }

    init(_ id: ObjectID, bytes: [UInt8]) throws {
        self.id = id
        func malformed(_ why: String) -> GitError { .corruptObject("commit \(id.hex): \(why)") }
        var at = 0
        func line(_ tag: String) -> ArraySlice<UInt8>? {
            let tag = Array(tag.utf8)
            guard bytes.count - at > tag.count, bytes[at..<(at + tag.count)].elementsEqual(tag),
                  let end = bytes[at...].firstIndex(of: 0x0a) else { return nil }
            defer { at = end + 1 }
            return bytes[(at + tag.count)..<end]
        }
        guard let tree = line("tree ").flatMap({ ObjectID(hexDigits: $0) }) else { throw malformed("no tree") }
        treeID = tree
        var parents: [ObjectID] = []
        while let parent = line("parent ") {
            guard let parentID = ObjectID(hexDigits: parent) else { throw malformed("a bad parent") }
            parents.append(parentID)
        }
        self.parents = parents
        guard let author = line("author ").map(Commit.signature) else { throw malformed("no author") }
        self.author = author
        // Some tools write several author lines; libgit2 skips the extra ones.
        while line("author ") != nil {}
        guard let committer = line("committer ").map(Commit.signature) else { throw malformed("no committer") }
        self.committer = committer
        // Other headers (encoding, gpgsig and its continuation lines…) up to the blank line.
        while at < bytes.count, bytes[at] != 0x0a {
            guard let end = bytes[at...].firstIndex(of: 0x0a) else { at = bytes.count; break }
            at = end + 1
        }
        while at < bytes.count, bytes[at] == 0x0a { at += 1 }
        message = String(decoding: bytes[at...], as: UTF8.self)
    }

    private static func signature(_ text: ArraySlice<UInt8>) -> ParsedSignature {
        guard let open = text.lastIndex(of: UInt8(ascii: "<")), let close = text.lastIndex(of: UInt8(ascii: ">")), close > open else {
            return ParsedSignature(name: "", email: "", time: 0)
        }
        func trimmed(_ part: ArraySlice<UInt8>) -> String {
            String(decoding: part, as: UTF8.self).trimmingCharacters(in: " \t\n\r")
        }
        var time: Int64 = 0
        var at = close + 1
        while at < text.endIndex, text[at] == 0x20 { at += 1 }
        while at < text.endIndex, (0x30...0x39).contains(text[at]), time < Int64.max / 10 - 9 {
            time = time * 10 + Int64(text[at] - 0x30)
            at += 1
        }
        return ParsedSignature(name: trimmed(text[text.startIndex..<open]), email: trimmed(text[(open + 1)..<close]), time: time)
    }

    /// The committer's time, unix seconds.
    var committerTime: Int64 { committer.time }

    var info: CommitInfo {
        var text = message
        if text.hasSuffix("\n") { text.removeLast() }
        return CommitInfo(id: id, parents: parents, message: text, author: Signature(name: author.name, email: author.email),
                          time: author.time)
    }
}

extension String {
    /// Without leading and trailing characters of `set`.
    func trimmingCharacters(in set: String) -> String {
        var view = Substring(self)
        while let first = view.first, set.contains(first) { view = view.dropFirst() }
        while let last = view.last, set.contains(last) { view = view.dropLast() }
        return String(view)
    }
}

/// A signature stamped now, in git's text form: "Name <email> 1700000000
/// +0100", as libgit2's `git_signature_now` and `git_signature__writebuf`
/// make one (the name and email trimmed; angle brackets or an empty name
/// or email refused).
enum SignatureStamp {
    static func now(_ signature: Signature) throws -> String {
        let name = signature.name.trimmingCharacters(in: " \t\n\r\u{0B}\u{0C}")
        let email = signature.email.trimmingCharacters(in: " \t\n\r\u{0B}\u{0C}")
        guard !(name + email).contains(where: { $0 == "<" || $0 == ">" }) else {
            throw GitError.call(function: "git_signature_now", code: -1,
                                message: "Neither `name` nor `email` should contain angle brackets chars.")
        }
        guard !name.isEmpty, !email.isEmpty else {
            throw GitError.call(function: "git_signature_now", code: -1, message: "Signature cannot have an empty name or email")
        }
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        let offset = local.tm_gmtoff / 60
        let zone = (offset < 0 ? "-" : "+") + twoDigits(abs(offset) / 60) + twoDigits(abs(offset) % 60)
        return "\(name) <\(email)> \(now) \(zone)"
    }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
