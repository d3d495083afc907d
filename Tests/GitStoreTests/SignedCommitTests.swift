import Foundation
import GitStore
import XCTest

/// `createCommit(sign:)` hands the signer the commit object's bytes and puts
/// what it returns into the `gpgsig` header as git writes it: the signed
/// bytes are the object without that header, which is what git verifies.
final class SignedCommitTests: GitTestCase {
    private let armor = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\nAAAA\n-----END SSH SIGNATURE-----\n"

    func testTheSignatureGoesIntoGpgsigOverTheObjectWithoutIt() throws {
        let repo = try makeRepository()
        let blob = try repo.writeBlob(Array("a".utf8))
        let first = try repo.createCommit(parent: nil, changes: [.write(path: "a.age", blob: blob)], message: "one", author: author)
        var signed: [UInt8]?
        let second = try repo.createCommit(parent: first, changes: [.delete(path: "a.age")], message: "two\n\nCoffer-Action: rm",
                                           author: author) { bytes in
            signed = bytes
            return self.armor
        }
        let object = try git(repo, "cat-file", "commit", second.description).output
        let lines = object.split(separator: "\n", omittingEmptySubsequences: false)
        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("gpgsig ") })
        XCTAssertTrue(lines[header - 1].hasPrefix("committer "), object)
        XCTAssertEqual(lines[header...(header + 3)].joined(separator: "\n"),
                       "gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n AAAA\n -----END SSH SIGNATURE-----")
        XCTAssertEqual(lines[header + 4], "", "the message follows at once: no line holding one space")
        let unsigned = (lines[..<header] + lines[(header + 4)...]).joined(separator: "\n")
        XCTAssertEqual(String(decoding: try XCTUnwrap(signed), as: UTF8.self), unsigned)
        XCTAssertTrue(unsigned.hasSuffix("\n\ntwo\n\nCoffer-Action: rm\n"), unsigned)
        XCTAssertEqual(try git(repo, "rev-parse", "\(second)^").output, "\(first)\n")
        try git(repo, "fsck", "--full", "--strict")
    }

    func testNilCommitsUnsignedAndAThrowCommitsNothing() throws {
        let repo = try makeRepository()
        let blob = try repo.writeBlob(Array("a".utf8))
        let plain = try repo.createCommit(parent: nil, changes: [.write(path: "a.age", blob: blob)], message: "m", author: author) { _ in nil }
        XCTAssertFalse(try git(repo, "cat-file", "commit", plain.description).output.contains("gpgsig"))
        struct Refused: Error {}
        XCTAssertThrowsError(try repo.createCommit(parent: plain, changes: [.delete(path: "a.age")], message: "n", author: author) { _ in
            throw Refused()
        }) { XCTAssertTrue($0 is Refused, "\($0)") }
    }
}
