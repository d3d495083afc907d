#if canImport(Glibc)
import Glibc
#endif

/// This process's environment as a child's `NAME=VALUE` entries, with some
/// variables set (`overrides`) or taken out (`removing`): the helper
/// programs coffer runs (git's credential helpers, age plugins, ssh-keygen)
/// get what the user set up, and exactly the changes coffer makes.
public enum ProcessEnvironment {
    public static func entries(overriding overrides: [String: String] = [:], removing: Set<String> = []) -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if overrides[name] == nil, !removing.contains(name) { result.append(text) }
            index += 1
        }
        return result + overrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}
