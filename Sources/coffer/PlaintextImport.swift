import Age
import CofferKit
import Posix

/// `coffer import --from dotenv|json|yaml FILE --allow-plaintext`: the file
/// is read whole (at most `maxFileSize`) straight into a wiped buffer and
/// parsed there; errors name lines and keys, never values.
enum PlaintextImport {
    /// As large as one secret may be (`Sealing.maxValueSize`): a file of
    /// values needs no more, and a larger one is refused before it is read.
    static let maxFileSize = 16 << 20

    static func read(_ path: String, as format: PlaintextFormat) throws -> [PlaintextEntry] {
        let text: SecureBytes
        do {
            text = try Files.readSecretRegularFile(path: path, limit: maxFileSize)
        } catch let error as FileError {
            throw CommandFailure(error.description)
        }
        do {
            return try format.decode(text)
        } catch let error as PlaintextError {
            throw CommandFailure("\(TerminalText.escape(path)): \(TerminalText.escape(error.description)); nothing was imported")
        }
    }
}
