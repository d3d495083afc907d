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
        do {
            return try KeyFile.unsealed(try Files.readSecret(path: path), passphrase: passphrase)
        } catch AgeError.noIdentityMatched {
            throw VaultError.wrongPassphrase(path: path)
        }
    }
}
