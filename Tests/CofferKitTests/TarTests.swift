import Foundation
import XCTest
import Tar

/// The bundle's tar layer against the stock `tar`: what we write, it
/// extracts byte for byte (long paths included); what it writes that is not
/// a regular file, we refuse; damage and truncation are refused.
final class TarTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "/coffer-tar-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private let files: [(String, [UInt8])] = [
        ("manifest", Array("a manifest\n".utf8)),
        ("secrets/a.age", Array(repeating: 7, count: 1000)),
        ("secrets/" + String(repeating: "deep/", count: 30) + "x.age", [1, 2, 3]),
        ("secrets/empty.age", []),
        ("secrets/exactly512.age", Array(repeating: 9, count: 512)),
    ]

    func testStockTarExtractsWhatWeWriteAndWeReadItBack() throws {
        var writer = TarWriter(modificationTime: 1_700_000_000)
        for (path, contents) in files { try writer.add(path: path, contents: contents) }
        let archive = writer.finish()
        XCTAssertEqual(try TarReader.members(of: archive, maxMemberSize: 1 << 20, maxMembers: 10).map { [$0.path: $0.contents] },
                       files.map { [$0.0: $0.1] })
        let file = directory + "/a.tar"
        try Data(archive).write(to: URL(fileURLWithPath: file))
        try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: true)
        try runPeer("tar", ["-x", "-f", file, "-C", directory + "/out"], in: directory)
        for (path, contents) in files {
            XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/out/" + path))), contents, path)
        }
        // The same input gives the same bytes.
        var again = TarWriter(modificationTime: 1_700_000_000)
        for (path, contents) in files { try again.add(path: path, contents: contents) }
        XCTAssertEqual(again.finish(), archive)
    }

    func testLinksDirectoriesDamageAndTruncationAreRefused() throws {
        _ = FileManager.default.createFile(atPath: directory + "/plain", contents: Data("x".utf8))
        XCTAssertEqual(symlink("/etc/passwd", directory + "/link"), 0)
        try runPeer("tar", ["--format=ustar", "-c", "-f", "links.tar", "plain", "link"], in: directory)
        let links = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/links.tar")))
        XCTAssertThrowsError(try TarReader.members(of: links, maxMemberSize: 1 << 20, maxMembers: 10)) { error in
            XCTAssertEqual(error as? TarError, .unsupportedMember(path: "link", type: UInt8(ascii: "2")))
        }
        try FileManager.default.createDirectory(atPath: directory + "/d", withIntermediateDirectories: true)
        try runPeer("tar", ["--format=ustar", "-c", "-f", "dir.tar", "d"], in: directory)
        XCTAssertThrowsError(try TarReader.members(of: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/dir.tar"))),
                                                   maxMemberSize: 1 << 20, maxMembers: 10))

        var writer = TarWriter(modificationTime: 0)
        try writer.add(path: "a", contents: Array(repeating: 1, count: 600))
        try writer.add(path: "a", contents: [2])
        let archive = writer.finish()
        XCTAssertThrowsError(try TarReader.members(of: archive, maxMemberSize: 1 << 20, maxMembers: 10)) {
            XCTAssertEqual($0 as? TarError, .duplicate(path: "a"))
        }
        var whole = TarWriter(modificationTime: 0)
        try whole.add(path: "a", contents: Array(repeating: 1, count: 600))
        try whole.add(path: "b", contents: [2])
        let good = whole.finish()
        XCTAssertEqual(try TarReader.members(of: good, maxMemberSize: 1 << 20, maxMembers: 10).map(\.path), ["a", "b"])
        var damaged = good
        damaged[0] ^= 1
        XCTAssertThrowsError(try TarReader.members(of: damaged, maxMemberSize: 1 << 20, maxMembers: 10)) {
            XCTAssertEqual($0 as? TarError, .badChecksum(offset: 0))
        }
        for cut in [1, 512, 1024, good.count - 1100, good.count - 513, good.count - 1] {
            XCTAssertThrowsError(try TarReader.members(of: Array(good.prefix(cut)), maxMemberSize: 1 << 20, maxMembers: 10), "cut at \(cut)") {
                XCTAssertEqual($0 as? TarError, .truncated, "cut at \(cut)")
            }
        }
        // A pax record whose length overflows is damage, not a crash.
        var long = TarWriter(modificationTime: 0)
        try long.add(path: String(repeating: "p", count: 150), contents: [1])
        var crafted = long.finish()
        let record = Array("8 a=bcd\n9223372036854775807 x=y\n".utf8)
        crafted.replaceSubrange(512..<512 + record.count, with: record)
        XCTAssertThrowsError(try TarReader.members(of: crafted, maxMemberSize: 1 << 20, maxMembers: 10)) {
            XCTAssertEqual($0 as? TarError, .badExtendedHeader(offset: 1024))
        }
        XCTAssertThrowsError(try TarReader.members(of: good, maxMemberSize: 100, maxMembers: 10)) {
            XCTAssertEqual($0 as? TarError, .tooLarge(path: "a", limit: 100))
        }
    }
}
