// libFuzzer target: Bech32 decoding as age uses it, and the key parsers built
// on it: X25519Recipient(parsing:), X25519Identity(parsing:),
// KeyFile.parseRecipients.
@testable import Age

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBech32(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (hrp, decoded) = Bech32.decode(bytes) {
        // Decoding is exact: encoding what came out gives the input back (up to case).
        let again = Bech32.encode(hrp: hrp, data: decoded.withUnsafeBytes { Array($0) })
        let lower = { (b: [UInt8]) in b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 } }
        precondition(lower(again) == lower(bytes), "Bech32 does not round-trip")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let recipient = try? X25519Recipient(parsing: text) {
        precondition(recipient.encoded == text.lowercased(), "recipient does not round-trip")
    }
    _ = try? X25519Identity(parsing: bytes)
    _ = try? KeyFile.parseRecipients(text)
    return 0
}
