import CSodium
import CZlib
import Foundation
import XCTest
@testable import Age

/// One conformance vector from the C2SP age test kit (format: its README).
struct TestVector {
    enum Expectation: String {
        case success
        case noMatch = "no match"
        case hmacFailure = "HMAC failure"
        case headerFailure = "header failure"
        case payloadFailure = "payload failure"
        case armorFailure = "armor failure"
    }

    let name: String
    let expect: Expectation
    let payloadHash: String?
    let identities: [String]
    let passphrases: [String]
    let armored: Bool
    let fileKey: [UInt8]?
    let body: [UInt8]

    init(name: String, contents: [UInt8]) throws {
        self.name = name
        var lines: [String] = []
        var offset = 0
        while true {
            guard let nl = contents[offset...].firstIndex(of: 0x0A) else { throw VectorError.malformed(name) }
            let line = String(decoding: contents[offset..<nl], as: UTF8.self)
            offset = nl + 1
            if line.isEmpty { break }
            lines.append(line)
        }
        var fields: [(String, String)] = []
        for line in lines {
            guard let colon = line.range(of: ": ") else { throw VectorError.malformed(name) }
            fields.append((String(line[..<colon.lowerBound]), String(line[colon.upperBound...])))
        }
        func values(_ key: String) -> [String] { fields.filter { $0.0 == key }.map(\.1) }
        guard let e = values("expect").first, let expectation = Expectation(rawValue: e) else {
            throw VectorError.malformed(name)
        }
        expect = expectation
        payloadHash = values("payload").first
        identities = values("identity")
        passphrases = values("passphrase")
        armored = values("armored").first == "yes"
        fileKey = values("file key").first.map(Hex.decode)
        let raw = Array(contents[offset...])
        body = values("compressed").first == "zlib" ? try Zlib.inflate(raw) : raw
    }

    enum VectorError: Error { case malformed(String), inflate(String) }

    /// How to get the vectors, shown when they cannot be found.
    static let howToGet = "get the vectors by cloning the C2SP CCTV repository (its `age` directory is the test kit, "
        + "with the vectors in `age/testdata`) and set COFFER_AGE_TESTKIT to that `age` directory"

    /// The package root: this file is `Tests/AgeTests/TestKit.swift`.
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Where the vectors are looked for: `$COFFER_AGE_TESTKIT` when it is set
    /// (a wrong value is reported, not silently replaced), else
    /// `../shared/age-testkit` beside the package root. Either names the test
    /// kit directory (the one holding `testdata/`) or the vector folder itself.
    static var candidates: [URL] {
        let root: URL
        if let override = ProcessInfo.processInfo.environment["COFFER_AGE_TESTKIT"], !override.isEmpty {
            root = URL(fileURLWithPath: override, isDirectory: true)
        } else {
            root = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/age-testkit", isDirectory: true)
        }
        return [root.appendingPathComponent("testdata", isDirectory: true), root]
    }

    /// All vectors, or a skip (a failure under CI) when no candidate holds any.
    static func loadAll() throws -> [TestVector] {
        let found = candidates.lazy.compactMap { dir -> (URL, [String])? in
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return nil }
            let vectors = names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") && $0 != "testdata" }
            var isDirectory: ObjCBool = false
            let plain = vectors.filter {
                FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path, isDirectory: &isDirectory)
                    && !isDirectory.boolValue
            }
            return plain.isEmpty ? nil : (dir, plain)
        }.first
        guard let (dir, names) = found else {
            let message = "age test kit not found (looked at: \(candidates.map(\.path).joined(separator: ", "))); \(howToGet)"
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("CI=true and the " + message)
                return []
            }
            throw XCTSkip(message)
        }
        return try names.sorted().map { name in
            try TestVector(name: name, contents: Array(try Data(contentsOf: dir.appendingPathComponent(name))))
        }
    }
}

enum Hex {
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(text.utf8).makeIterator()
        while let hi = chars.next(), let lo = chars.next() {
            out.append(UInt8(String(decoding: [hi, lo], as: UTF8.self), radix: 16)!)
        }
        return out
    }

    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

enum SHA256 {
    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var digest = [UInt8](repeating: 0, count: 32)
        let input = Array(bytes)
        crypto_hash_sha256(&digest, input, UInt64(input.count))
        return Hex.encode(digest)
    }
}

enum Zlib {
    static func inflate(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw TestVector.VectorError.inflate("init")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var source = input
        let status: Int32 = source.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            var rc: Int32 = Z_OK
            repeat {
                rc = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
            } while rc == Z_OK
            return rc
        }
        guard status == Z_STREAM_END else { throw TestVector.VectorError.inflate("status \(status)") }
        return output
    }
}
