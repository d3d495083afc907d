import ArgumentParser
import Age
import CofferKit

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Seal and commit a new random value, never printed unless --reveal.",
        discussion: """
            Each character (or word) is drawn uniformly from libsodium's random source:
              alnum    A-Z a-z 0-9                      5.95 bits a character (default: 32, 190 bits)
              symbols  alnum and !"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~   6.55 bits a character
              hex      0-9 a-f                          4 bits a character
              base64   A-Z a-z 0-9 + /                  6 bits a character (not decodable bytes)
              words    EFF large wordlist, joined by -  12.9 bits a word (default: 6, 77 bits)
            One commit; the value appears in no message, argument or output unless --reveal.
            """
    )

    @Argument(help: "The secret id.", completion: Completion.secretIDs)
    var id: String

    @Option(help: ArgumentHelp("Characters in the value (default \(Recipe.defaultLength); "
                               + "\(Recipe.lengths.lowerBound) to \(Recipe.lengths.upperBound)).", valueName: "N"))
    var length: Int?

    @Option(help: ArgumentHelp("What the value is made of: alnum (default), symbols, hex, base64 or words.", valueName: "CHARSET"))
    var charset: Charset?

    @Option(help: ArgumentHelp("Words in the value (default \(Recipe.defaultWords); \(Recipe.wordCounts.lowerBound) to "
                               + "\(Recipe.wordCounts.upperBound)); implies --charset words.", valueName: "N"))
    var words: Int?

    @Flag(help: "Give an existing secret a new random value (its history keeps the old one).")
    var replace = false

    @Flag(help: "Print the value once it is committed (asks first on a terminal unless --yes).")
    var reveal = false

    @Flag(name: .shortAndLong, help: "Do not ask: seal even if your identity is not among the readers, and reveal.")
    var yes = false

    @OptionGroup var options: VaultOptions

    func validate() throws {
        if words != nil, let charset, charset != .words {
            throw ValidationError("--words goes with --charset words; --length counts the characters of the others")
        }
        if length != nil, words != nil || charset == .words {
            throw ValidationError("--length counts characters; give the number of words with --words")
        }
        do {
            _ = try recipe()
        } catch let error as RecipeError {
            throw ValidationError((words != nil ? "--words: " : "--length: ") + error.description)
        }
    }

    private func recipe() throws -> Recipe {
        try Recipe(words != nil ? .words : charset ?? .alnum, count: words ?? length)
    }

    func run() throws {
        try Console.run {
            let id = try SecretID(id)
            let recipe = try recipe()
            // Asked before anything is written, shown after the commit.
            if reveal { try Confirm.reveal(id.value, yes: yes) }
            let vault = try options.vault()
            try options.store.checkPermissions()
            var (plan, value): (ChangePlan, SecureBytes)
            do {
                (plan, value) = try vault.planGenerate(id, recipe, replacing: replace, me: options.myKeys())
            } catch VaultError.alreadyExists(let existing) where existing == id.value {
                throw CommandFailure(VaultError.alreadyExists(id: existing).description,
                                     hint: "pass --replace to give it a new random value (its history keeps the old one)")
            }
            try Confirm.risks(of: &plan, yes: yes)
            // A fresh value never equals the stored one: no identity is needed to compare.
            let outcome = try vault.apply(plan, identities: [])
            let made = recipe.charset == .words ? Plural.count(recipe.count, "word")
                : Plural.count(recipe.count, "character") + " (\(recipe.charset.rawValue))"
            Console.info("generated \(id): \(made), \(Int(recipe.entropyBits)) bits of entropy")
            if recipe.entropyBits < 64 {
                Console.warning("\(Int(recipe.entropyBits)) bits can be guessed by brute force; 64 or more is the least for a secret "
                                + "(the defaults give 190 and 77)")
            }
            Console.reportPending(outcome)
            guard reveal else { return }
            // Recorded as a reveal of its own, and fail closed like get --reveal:
            // the value is committed either way, but shown only once recorded.
            try vault.recordReveal(.generate, ids: [id], at: outcome.commit)
            try GetJob.writeRevealed(value)
        }
    }
}

extension Charset: ExpressibleByArgument {}
