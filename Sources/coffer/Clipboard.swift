#if canImport(Glibc)
import Glibc
#endif
import Age
import CofferLocator
import Posix

/// The desktop clipboard, through whichever tool the session has:
/// `wl-copy`/`wl-paste` under Wayland, else `xclip` or `xsel` under X11.
/// Values go to the tool's standard input, never its argv or environment.
/// Only text is read back: whatever else the clipboard held (an image, a
/// file) is not kept.
struct Clipboard: Equatable {
    enum Tool: String, CaseIterable {
        case wayland = "wl-copy"
        case xclip
        case xsel

        /// The programs the tool needs, all looked up in PATH.
        var programs: [String] { self == .wayland ? ["wl-copy", "wl-paste"] : [rawValue] }

        /// The display variable the tool needs.
        var display: String { self == .wayland ? "WAYLAND_DISPLAY" : "DISPLAY" }
    }

    let tool: Tool
    /// The value of `tool.display`: which clipboard this is.
    let display: String
    /// The absolute paths of `tool.programs`.
    private let paths: [String]

    /// Bounds what is kept of the clipboard's previous contents, as a
    /// secret's value is bounded: anything larger is not put back.
    static let previousLimit = 16 << 20
    /// How long a tool may take to read or set the clipboard.
    static let toolTimeout = 5.0

    /// The first tool whose display is set and whose programs are on PATH,
    /// in the order Wayland, xclip, xsel; a clear error naming them if none.
    static func find(named name: Tool? = nil) throws -> Clipboard {
        for tool in name.map({ [$0] }) ?? Tool.allCases {
            guard let display = environment(tool.display), !display.isEmpty else { continue }
            let paths = tool.programs.compactMap(lookUp)
            if paths.count == tool.programs.count { return Clipboard(tool: tool, display: display, paths: paths) }
        }
        let displays = ["WAYLAND_DISPLAY", "DISPLAY"].map { "\($0) is " + ((environment($0) ?? "").isEmpty ? "unset" : "set") }
        throw CommandFailure("no clipboard to copy to: --copy needs wl-copy and wl-paste (with WAYLAND_DISPLAY set), "
                             + "or xclip or xsel (with DISPLAY set); here " + displays.joined(separator: " and "),
                             hint: "in a desktop session install wl-clipboard, xclip or xsel; without one, --reveal prints the value")
    }

    /// What the clipboard holds as text, nil if it holds none (empty, not
    /// text, over `previousLimit`, or its owner did not answer in time).
    func read() -> SecureBytes? {
        let argv: [String]
        switch tool {
        case .wayland: argv = [paths[1], "--no-newline"]
        case .xclip: argv = [paths[0], "-selection", "clipboard", "-out"]
        case .xsel: argv = [paths[0], "--clipboard", "--output"]
        }
        return (try? Subprocess.run(argv, capture: true, limit: Clipboard.previousLimit, timeout: Clipboard.toolTimeout))?.output
    }

    /// Puts `value` on the clipboard, or empties it when nil.
    func write(_ value: SecureBytes?) throws {
        let argv: [String]
        switch (tool, value) {
        case (.wayland, nil): argv = [paths[0], "--clear"]
        case (.wayland, _): argv = [paths[0]]
        case (.xclip, _): argv = [paths[0], "-selection", "clipboard", "-in"]  // nothing on stdin: empty
        case (.xsel, nil): argv = [paths[0], "--clipboard", "--clear"]
        case (.xsel, _): argv = [paths[0], "--clipboard", "--input"]
        }
        let needsInput = value != nil || tool == .xclip
        let (succeeded, _) = try (value ?? SecureBytes(count: 0)).withUnsafeBytes { bytes in
            try Subprocess.run(argv, input: needsInput ? bytes : nil, timeout: Clipboard.toolTimeout)
        }
        guard succeeded else { throw CommandFailure("\(tool.rawValue) could not set the clipboard") }
    }

    private static func environment(_ name: String) -> String? { Locator.processVariable(name) }

    /// The first absolute PATH entry holding `program`: never the current
    /// directory or a relative entry (an empty one, `.`, `bin`), as `exec`
    /// promises, so a file planted where the user happens to stand never
    /// receives the value.
    private static func lookUp(_ program: String) -> String? {
        for directory in (environment("PATH") ?? "/usr/bin:/bin").split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
