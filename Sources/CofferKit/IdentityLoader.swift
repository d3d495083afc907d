import Age
import Posix

/// Loads identity files for decryption, as the age CLI accepts them: plain
/// age-keygen files, or such a file itself encrypted with a passphrase.
public enum IdentityLoader {
    /// - Parameter passphrase: asked only when the file is passphrase-protected.
    public static func load(path: String, passphrase: () throws -> SecureBytes) throws -> [X25519Identity] {
        try KeyFile.parseIdentities(plaintext(path: path, passphrase: passphrase))
    }

    /// The identity file's text, decrypted first if it is passphrase-protected.
    static func plaintext(path: String, passphrase: () throws -> SecureBytes) throws -> SecureBytes {
        let contents = try Files.readSecret(path: path)
        // Compared in place: the head of a plain identity file is the key itself.
        let encrypted = contents.withUnsafeBytes { bytes in
            let start = bytes.firstIndex { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 } ?? bytes.count
            let rest = bytes[start...]
            return rest.starts(with: "age-encryption.org/".utf8) || rest.starts(with: "-----BEGIN AGE ENCRYPTED FILE-----".utf8)
        }
        guard encrypted else { return contents }
        let ciphertext = contents.withUnsafeBytes { Array($0) }
        let identity = ScryptIdentity(passphrase: try passphrase())
        do {
            return try Age.decrypt(ciphertext, identities: [identity]).plaintext
        } catch AgeError.noIdentityMatched {
            throw VaultError.wrongPassphrase(path: path)
        }
    }
}
