// libFuzzer target: `.recipients` files (RecipientsFile(parsing:path:)): what
// parses writes back as text that parses to the same file, and survives an
// edit. Reaches CofferKit's internals with @testable (see scripts/fuzz).
import Age
@testable import CofferKit

private let extra = NamedRecipient(
    recipient: try! X25519Recipient(parsing: "age1rn5xh29rjyhn28zf7v6vugp5xet7ysh682fssptnpwzgaafgafwqwdss49"), name: "fuzz")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipients(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    guard let file = try? RecipientsFile(parsing: text, path: "fuzz/.recipients") else { return 0 }
    let again = try? RecipientsFile(parsing: file.text, path: "fuzz/.recipients")
    precondition(again == file, "a .recipients file does not round-trip through its text")
    let edited = file.adding(extra)
    precondition((try? RecipientsFile(parsing: edited.text, path: "x")) == edited, "an edited .recipients file does not round-trip")
    _ = file.removing { _ in true }.text
    return 0
}
