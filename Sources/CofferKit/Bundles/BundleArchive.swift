#if canImport(Glibc)
import Glibc
#endif
import Age
import Tar

/// A bundle file as members: `manifest`, `manifest.sig` (absent when
/// unsigned), then `secrets/<id>.age` in manifest order. Reading checks the
/// archive against its manifest — exactly the listed entries, each of the
/// listed size and SHA-256 — before anyone looks inside an entry.
struct BundleArchive {
    static let manifestName = "manifest"
    static let signatureName = "manifest.sig"
    /// Far above any vault (10,000 secrets is the reference); bounds memory.
    static let maxEntries = 200_000

    let manifestBytes: [UInt8]
    let manifest: Manifest
    let signature: String?
    /// The sealed entries, in manifest order.
    let entries: [(entry: Manifest.Entry, file: [UInt8])]

    static func write(manifest: Manifest, signature: String?, files: [SecretID: [UInt8]]) throws -> [UInt8] {
        let created = Manifest.seconds(of: manifest.created)
        var tar = TarWriter(modificationTime: created)
        try tar.add(path: manifestName, contents: Array(manifest.text.utf8))
        if let signature { try tar.add(path: signatureName, contents: Array(signature.utf8)) }
        for entry in manifest.entries { try tar.add(path: entry.path, contents: files[entry.id]!) }
        return tar.finish()
    }

    init(reading archive: [UInt8]) throws {
        let members: [TarReader.Member]
        do {
            members = try TarReader.members(of: archive, maxMemberSize: max(Sealing.maxFileSize, 64 << 20), maxMembers: BundleArchive.maxEntries + 2)
        } catch let error as TarError {
            throw BundleError.archive(error)
        }
        var byPath: [String: [UInt8]] = [:]
        for member in members {
            let path = member.path
            if path != BundleArchive.manifestName, path != BundleArchive.signatureName {
                guard path.hasPrefix(Manifest.entryDirectory),
                      SecretID(relativePath: String(path.dropFirst(Manifest.entryDirectory.count))) != nil
                else { throw BundleError.unexpectedMember(path: path) }
            }
            byPath[path] = member.contents
        }
        guard let manifestBytes = byPath.removeValue(forKey: BundleArchive.manifestName) else { throw BundleError.missingManifest }
        self.manifestBytes = manifestBytes
        manifest = try Manifest(parsing: manifestBytes)
        signature = byPath.removeValue(forKey: BundleArchive.signatureName).map { String(decoding: $0, as: UTF8.self) }
        var entries: [(Manifest.Entry, [UInt8])] = []
        for entry in manifest.entries {
            guard let file = byPath.removeValue(forKey: entry.path) else { throw BundleError.entryMissing(id: entry.id) }
            guard file.count == entry.size, Text.hex(Digest.sha256(file)) == entry.sha256 else { throw BundleError.entryAltered(id: entry.id) }
            entries.append((entry, file))
        }
        if let extra = byPath.keys.sorted().first { throw BundleError.entryNotListed(path: extra) }
        self.entries = entries
    }
}

extension Manifest {
    /// Now, as a manifest writes it (UTC, milliseconds).
    static func now() -> String { timestamp(secondsFromNow: 0) }

    /// A time `offset` seconds from now, as a manifest writes it.
    static func timestamp(secondsFromNow offset: Int) -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec + offset, parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, width - s.count)) + s }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(spec.tv_nsec / 1_000_000), 3))Z"
    }

    /// Whole seconds since the epoch of a manifest time (for the archive's mtime).
    static func seconds(of created: String) -> Int64 {
        let digits = Array(created.utf8).map { Int64($0) - 48 }
        func number(_ range: Range<Int>) -> Int64 { range.reduce(0) { $0 * 10 + digits[$1] } }
        var parts = tm()
        parts.tm_year = Int32(number(0..<4) - 1900)
        parts.tm_mon = Int32(number(5..<7) - 1)
        parts.tm_mday = Int32(number(8..<10))
        parts.tm_hour = Int32(number(11..<13))
        parts.tm_min = Int32(number(14..<16))
        parts.tm_sec = Int32(number(17..<19))
        return Int64(timegm(&parts))
    }
}
