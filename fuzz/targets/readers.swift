// libFuzzer target: the keys a reader or identity may be given as besides
// coffer's own — ssh-ed25519 lines and OpenSSH private key files (AgeSSH),
// age plugin recipients and identities (AgePlugin) — and ssh-ed25519
// stanzas. None may crash; a reader key that parses writes back as text
// that parses to the same key; a stanza never opens for the wrong key.
// Reaches CofferKit's internals with @testable (see scripts/fuzz).
import Age
import AgePlugin
import AgeSSH
import SSHSig
@testable import CofferKit

/// One fixed key: the stanzas below are tried against it.
private let identity = SSHEd25519Identity(signingKey: SSHSigningKey.generate())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    for line in text.split(separator: "\n").prefix(8) {
        guard let (key, _) = try? ReaderKey.parse(line: String(line)) else { continue }
        precondition((try? ReaderKey(parsing: key.encoded)) == key, "a reader key does not round-trip through its text")
        _ = Fingerprint.of(key)
    }
    _ = try? PluginIdentity(parsing: bytes)
    _ = try? SSHEd25519Identity(openSSHPrivateKey: SecureBytes(copying: bytes))
    // The input as a header's stanza lines, offered to a fixed ssh-ed25519 key.
    if let (header, _) = try? Header.parse(Array("age-encryption.org/v1\n".utf8) + bytes),
       case .fileKey = (try? identity.unwrap(header.stanzas)) ?? .notMine {
        preconditionFailure("a fuzzed ssh-ed25519 stanza opened for a key it was not made for")
    }
    return 0
}
