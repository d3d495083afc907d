// libFuzzer target: bundle files (BundleArchive(reading:)): the strict tar
// reader and the canonical manifest. Whatever is accepted holds exactly the
// manifest's entries, and its manifest re-encodes to the bytes it came from.
// Reaches CofferKit's internals with @testable (see scripts/fuzz).
import Age
@testable import CofferKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let archive = try? BundleArchive(reading: bytes) else { return 0 }
    precondition(Array(archive.manifest.text.utf8) == archive.manifestBytes, "an accepted manifest is not canonical")
    precondition(archive.entries.map(\.entry) == archive.manifest.entries, "the entries differ from the manifest's")
    for (entry, file) in archive.entries {
        precondition(file.count == entry.size && Text.hex(Digest.sha256(file)) == entry.sha256, "an entry differs from its digest")
    }
    return 0
}
