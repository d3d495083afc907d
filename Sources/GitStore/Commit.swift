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

    /// A signature line's parts (see `signature`).
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
        /// "<header><40 hex>\n", as `git_object__parse_oid_header` reads it.
        func idLine(_ header: String) -> ObjectID? {
            let tag = Array(header.utf8)
            guard at + tag.count + 41 <= bytes.count, bytes[at..<(at + tag.count)].elementsEqual(tag),
                  bytes[at + tag.count + 40] == 0x0a, let id = ObjectID(hexDigits: bytes[(at + tag.count)..<(at + tag.count + 40)])
            else { return nil }
            at += tag.count + 41
            return id
        }
        guard let tree = idLine("tree ") else { throw malformed("no tree") }
        treeID = tree
        var parents: [ObjectID] = []
        while let parent = idLine("parent ") { parents.append(parent) }
        self.parents = parents
        author = try Commit.signature(bytes, &at, "author ", malformed)
        // Some tools write several author lines; libgit2 parses and skips the extra ones.
        while bytes[at...].starts(with: Array("author ".utf8)) { _ = try Commit.signature(bytes, &at, "author ", malformed) }
        committer = try Commit.signature(bytes, &at, "committer ", malformed)
        // Other headers (encoding, gpgsig and its continuation lines…) up to the blank line.
        while at < bytes.count, !(bytes[at - 1] == 0x0a && bytes[at] == 0x0a) {
            at = (bytes[at...].firstIndex(of: 0x0a) ?? bytes.count - 1) + 1
        }
        // As libgit2 keeps it: a C string (up to a NUL), leading newlines dropped by `git_commit_message`.
        var start = min(at + 1, bytes.count)
        while start < bytes.count, bytes[start] == 0x0a { start += 1 }
        let end = bytes[start...].firstIndex(of: 0) ?? bytes.count
        message = String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// A signature line read as libgit2 1.5's `git_signature__parse` reads
    /// one: the last "<" and ">" delimit the email, the time starts two
    /// bytes after the ">" (strtol: blanks, a sign, digits; none, or an
    /// overflow, is an error), a time zone that does not read is zero.
    private static func signature(_ bytes: [UInt8], _ at: inout Int, _ header: String,
                                  _ malformed: (String) -> GitError) throws -> ParsedSignature {
        guard let newline = bytes[at...].firstIndex(of: 0x0a) else { throw malformed("no newline after \(header)") }
        let tag = Array(header.utf8)
        guard at + tag.count < newline, bytes[at..<(at + tag.count)].elementsEqual(tag) else { throw malformed("no \(header)line") }
        let line = bytes[(at + tag.count)..<newline]
        guard let open = line.lastIndex(of: UInt8(ascii: "<")), let close = line.lastIndex(of: UInt8(ascii: ">")), close > open else {
            throw malformed("malformed e-mail")
        }
        func trimmed(_ part: ArraySlice<UInt8>) -> String {
            var part = part
            while let first = part.first, Commit.isSpace(first) { part = part.dropFirst() }
            while let last = part.last, Commit.isSpace(last) { part = part.dropLast() }
            return String(decoding: part, as: UTF8.self)
        }
        var time: Int64 = 0
        if close + 2 < newline {
            var p = close + 2
            while p < newline, Commit.isSpace(bytes[p]) { p += 1 }
            var negative = false
            if p < newline, bytes[p] == UInt8(ascii: "-") || bytes[p] == UInt8(ascii: "+") {
                negative = bytes[p] == UInt8(ascii: "-")
                p += 1
            }
            var digits = 0, overflow = false
            while p < newline, (0x30...0x39).contains(bytes[p]) {
                let digit = Int64(bytes[p] - 0x30)
                let (times10, o1) = time.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(negative ? -digit : digit)
                if o1 || o2 { overflow = true } else { time = sum }
                digits += 1
                p += 1
            }
            guard digits > 0, !overflow else { throw malformed("invalid Unix timestamp") }
        }
        at = newline + 1
        return ParsedSignature(name: trimmed(bytes[line.startIndex..<open]), email: trimmed(bytes[(open + 1)..<close]), time: time)
    }

    /// `git__isspace`: space, \t, \n, \v, \f, \r.
    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }

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
        return "\(name) <\(email)> \(nowAndZone())"
    }

    /// "1700000000 +0100": now, and the local zone's offset, as git writes them.
    static func nowAndZone() -> String {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        let offset = local.tm_gmtoff / 60
        return "\(now) " + (offset < 0 ? "-" : "+") + twoDigits(abs(offset) / 60) + twoDigits(abs(offset) % 60)
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
