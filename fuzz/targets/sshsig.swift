// libFuzzer target: the SSH formats. The input is tried as an armored SSH
// signature, a public key line, an OpenSSH private key file, allowed_signers
// lines and a whole `.signers` file (CofferKit's SignersFile): none may
// crash, and what parses writes back as text that parses to the same thing.
// Reaches CofferKit's internals with @testable (see scripts/fuzz).
import Age
import SSHSig
@testable import CofferKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSHSig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? SSHSignature.verify(armored: bytes, message: Array("fuzz".utf8), namespace: "coffer-bundle")
    if let key = try? SSHEd25519PublicKey(parsingAuthorizedKey: text) {
        precondition((try? SSHEd25519PublicKey(parsingAuthorizedKey: key.authorizedKey)) == key, "a public key line does not round-trip")
    }
    if let key = try? SSHSigningKey(openSSHPrivateKey: SecureBytes(copying: bytes)) {
        let again = try? SSHSigningKey(openSSHPrivateKey: key.openSSHPrivateKey())
        precondition(again?.publicKey == key.publicKey, "a private key file does not round-trip")
    }
    for line in text.split(separator: "\n") {
        guard let signer = try? AllowedSigner(parsing: String(line)) else { continue }
        precondition((try? AllowedSigner(parsing: signer.line)) == signer, "an allowed_signers line does not round-trip")
        _ = signer.permits(namespace: "coffer-bundle", at: 1_700_000_000)
    }
    if let file = try? SignersFile(parsing: text, path: "fuzz/.signers") {
        precondition((try? SignersFile(parsing: file.text, path: "fuzz/.signers")) == file, "a .signers file does not round-trip")
        for signer in file.signers {
            let edited = file.removing(.name(signer.name))
            precondition((try? SignersFile(parsing: edited.text, path: "x")) == edited, "an edited .signers file does not round-trip")
        }
    }
    return 0
}
