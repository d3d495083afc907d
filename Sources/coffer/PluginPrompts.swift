import Age
import AgePlugin
import CofferKit

/// The one plugin batch of this process: every vault it opens and every
/// plugin identity it loads share it, so an operation starts each plugin
/// once, and the plugin's requests reach the user through coffer's prompts.
enum CommandPlugins {
    static let batch: PluginBatch = {
        let client = PluginClient(prompter: TerminalPluginPrompter())
        // A plugin that stops answering is cut off after this long per message
        // (a touch or a PIN typed at its own prompt included).
        if let seconds = VaultSettings.locator.pluginTimeout { client.timeout = seconds }
        return PluginBatch(client: client)
    }()
}

/// A plugin's messages on stderr and its questions at the terminal, its
/// text escaped (it is the plugin's, not ours). Without a terminal, a
/// question is answered `fail` and the plugin says what it needed.
struct TerminalPluginPrompter: PluginPrompter {
    func message(_ text: String) throws {
        Console.info("coffer: plugin: " + UntrustedText.escaped(text))
    }

    func confirm(_ text: String, yes: String, no: String?) throws -> Bool {
        let choices = no.map { "[\(UntrustedText.escaped(yes))/\(UntrustedText.escaped($0))]" } ?? "[\(UntrustedText.escaped(yes))]"
        let answer = try PassphraseSource.readLine(prompt: "\(UntrustedText.escaped(text)) \(choices) ", echo: true)
        return answer == yes.lowercased() || answer == "y" || answer == "yes"
    }

    func requestPublic(_ text: String) throws -> String {
        try PassphraseSource.readLine(prompt: UntrustedText.escaped(text) + " ", echo: true)
    }

    func requestSecret(_ text: String) throws -> SecureBytes {
        try PassphraseSource.readFromTerminal(prompt: UntrustedText.escaped(text) + " ")
    }
}
