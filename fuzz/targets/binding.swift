// libFuzzer target: the coffer binding stanza (`-> coffer/binding <id> <fp>…`):
// Sealing.boundReaders, boundID, isSealed, samePayload and open. Reaches
// CofferKit's internals with @testable (scripts/fuzz builds it with -enable-testing).
import Age
@testable import CofferKit

/// Test key A of fixtures/ (a test key, not a secret): it reads the reference
/// vault's files, which scripts/fuzz adds to the seeds.
private let identity = try! X25519Identity(parsing: "AGE-SECRET-KEY-1MDD4XKJLFGC8E6Y43T3QW2MD478KE74Z8YJLGPWXG7Q3SS7M4G9SWTRFK9")
private let reader = NamedRecipient(recipient: identity.recipient, name: "alice")
private let fixedID = try! SecretID("fuzz/id")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBinding(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The id the file claims, when it is a valid one, so open gets past the id check.
    let id = Sealing.boundID(of: bytes).flatMap { try? SecretID($0) } ?? fixedID
    let bound = try? Sealing.boundReaders(of: bytes, id: id)
    let boundID = Sealing.boundID(of: bytes)
    if let bound { precondition(boundID == bound.id, "boundID and boundReaders disagree") }
    _ = Sealing.isSealed(bytes, id: id, for: [reader])
    if (try? Header.parse(bytes)) != nil {
        precondition(Sealing.samePayload(bytes, bytes), "a file differs from itself")
    }
    _ = try? Sealing.open(bytes, id: id, identities: [identity])
    return 0
}
