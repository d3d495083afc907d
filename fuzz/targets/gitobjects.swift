// libFuzzer target: coffer's own readers of what a teammate's push holds —
// tree and commit objects, the signature split of a signed commit, git
// deltas, config files. None may crash or read out of bounds; a tree that
// parses writes back (sorted, as TreeBuilder writes it) to entries that
// parse again; a split signature's two parts come from the input.
// Reaches GitStore's internals with @testable (see scripts/fuzz).
@testable import GitStore

private let id = ObjectID(rawBytes: [UInt8](repeating: 0xab, count: 20))!
/// A fixed base for the input read as a delta.
private let base = Array("base text a delta copies ranges of, and inserts between".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGitObjects(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let tree = try? Tree(id, bytes: bytes) {
        for entry in tree.entries { precondition(entry.rawName.count > 0 && !entry.rawName.contains(0), "a tree entry without a name") }
    }
    if let commit = try? Commit(id, bytes: bytes) {
        _ = commit.info
        precondition(bytes.count >= 46, "a commit without room for its tree line parsed")
    }
    if let split = try? CommitSignatureData(splitting: bytes) {
        precondition(split.signedData.count + split.armored.count <= bytes.count, "a split longer than its commit")
    }
    if let result = try? Delta.apply(bytes, to: base) {
        precondition(result.count <= bytes.count * base.count, "a delta grew past what its copies and inserts allow")
    }
    _ = try? GitConfigFile(text: String(decoding: bytes, as: UTF8.self))
    _ = TreeBuilder.isValid(String(decoding: bytes.prefix(64), as: UTF8.self))
    return 0
}
