// libFuzzer target: the age header and stanza parser (Header.parse), then the
// whole decryption path (armor detection, stanza unwrapping, MAC, payload)
// with one X25519 and one low-cost scrypt identity. Reaches Age's
// internals with @testable (scripts/fuzz builds Age with -enable-testing).
@testable import Age

/// The C2SP test kit's published x25519 test key: seeds from the kit unwrap with it.
private let identities: [Identity] = [
    try! X25519Identity(parsing: "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"),
    ScryptIdentity(passphrase: SecureBytes(copying: Array("password".utf8)), maxWorkFactor: 10),
]
private let someKey = SecureBytes(copying: [UInt8](repeating: 7, count: 16))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (header, offset) = try? Header.parse(bytes) {
        precondition(offset <= bytes.count, "payload offset past the end")
        precondition(!header.stanzas.isEmpty)
        // Strict parsing: the header's bytes are the only encoding of its stanzas.
        let again = Header.encode(stanzas: header.stanzas, fileKey: someKey)
        precondition(Array(again.prefix(header.authenticatedBytes.count)) == header.authenticatedBytes,
                     "a parsed header does not re-encode to the same bytes")
        let reparsed = try? Header.parse(again)
        precondition(reparsed?.header.stanzas == header.stanzas, "re-encoded header parses differently")
    }
    _ = try? Age.decrypt(bytes, identities: identities)
    return 0
}
