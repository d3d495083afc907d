// libFuzzer target: identity files: KeyFile.unsealed (plain or passphrase
// sealed) and KeyFile.parseIdentities. The sealed path is followed with a
// scrypt ceiling of 2^10 so one input cannot cost seconds.
@testable import Age

private struct Asked: Error {}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let contents = SecureBytes(copying: bytes)
    do {
        let text = try KeyFile.unsealed(contents) { throw Asked() }
        _ = try? KeyFile.parseIdentities(text)
    } catch is Asked {
        // Sealed: what unsealed would do with a passphrase, at a bounded cost.
        let passphrase = SecureBytes(copying: Array("password".utf8))
        if let (plain, _) = try? Age.decrypt(bytes, identities: [ScryptIdentity(passphrase: passphrase, maxWorkFactor: 10)]) {
            _ = try? KeyFile.parseIdentities(plain)
        }
    } catch {
        preconditionFailure("unsealed threw \(error) without asking for a passphrase")
    }
    return 0
}
