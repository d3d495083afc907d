import Foundation
import XCTest

/// The chain of trust (issue 12): a change to `.signers`, `.recipients` or
/// `.coffer-config` counts in a clone only when a signer its parent
/// trusted signed it. A teammate's clone pushes; the tester's clone pulls.
final class ChainOfTrustTests: VaultE2ECase {
    private var remote: String { path("remote.git") }
    private var other: String { path("other") }
    /// Bob's clone and identity.
    private var bob: [String: String] { ["COFFER_VAULT": other, "COFFER_IDENTITY": path("bob.key")] }
    private var bobKey = ""

    /// The tester's vault with prod/a and dev/a, bob reading both, pushed
    /// to a bare remote and cloned into `other`, where bob pinned the signers.
    private func setUpTeam() throws {
        try initVault()
        try cofOK(["identity", "new", "--identity", path("bob.key")], clean: false)
        bobKey = try cofOK(["identity", "show"], env: bob, clean: false).stdoutText.ageLines
        try cofOK(["set", "prod/a", "--stdin"], stdin: Data(canary("prod-a").utf8))
        try cofOK(["set", "dev/a", "--stdin"], stdin: Data(canary("dev-a").utf8))
        try cofOK(["recipients", "add", bobKey, "--name", "bob", "--scope", "prod"])
        try cofOK(["recipients", "add", bobKey, "--name", "bob", "--scope", "dev"])
        try gitOK(["init", "-q", "--bare", remote], in: path(""))
        try gitOK(["remote", "add", "origin", remote])
        try gitOK(["push", "-q", "-u", "origin", "HEAD"])
        try gitOK(["clone", "-q", remote, other], in: path(""))
        try cofOK(["setup", "--signer", try fingerprint()], env: bob, clean: false)
    }

    /// The tester's signing-key fingerprint, from `signers list`.
    private func fingerprint(env: [String: String] = [:]) throws -> String {
        let json = try cofOK(["signers", "list", "-o", "json"], env: env, clean: false).stdout
        let signers = try XCTUnwrap((try JSONSerialization.jsonObject(with: json) as? [String: Any])?["signers"] as? [[String: Any]])
        return try XCTUnwrap(signers.first?["fingerprint"] as? String)
    }

    private func newReader(_ name: String) throws -> Key { try cofferKeygen(name) }

    private func push(from directory: String) throws { try gitOK(["push", "-q", "origin", "HEAD"], in: directory) }
    /// A stock `git pull` (merging when needed) into `directory` (default: the tester's vault).
    private func pull(into directory: String? = nil) throws {
        try gitOK(["-c", "user.name=Tester", "-c", "user.email=t@example.com", "pull", "-q", "--no-rebase", "--no-edit", "origin", "HEAD"],
                  in: directory)
    }

    private func append(_ line: String, to relative: String, in directory: String) throws {
        let file = directory + "/" + relative
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        try (text + line + "\n").write(toFile: file, atomically: false, encoding: .utf8)
    }

    /// A stock-git commit in `other`, signed with `signingKey` (an ssh key file) or unsigned.
    private func commitByHand(_ message: String, signingKey: String? = nil) throws -> String {
        try gitOK(["add", "-A"], in: other)
        var arguments = ["-c", "user.name=Bob", "-c", "user.email=bob@example.com"]
        if let signingKey { arguments += ["-c", "gpg.format=ssh", "-c", "user.signingkey=" + signingKey, "commit", "-S"] } else { arguments += ["commit"] }
        try gitOK(arguments + ["-q", "-m", message], in: other)
        return try head(in: other)
    }

    /// An ssh-keygen key pair outside any vault; returns the private key's path.
    private func sshKey(_ name: String) throws -> (file: String, line: String) {
        let keygen = try requireTool("ssh-keygen")
        try succeed(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path(name)])
        return (path(name), try String(contentsOfFile: path(name) + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func verifyHistory() throws -> (status: Int32, findings: [[String: Any]]) {
        let result = try cof(["verify", "--history", "-o", "json"], clean: false)
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return (result.status, json?["findings"] as? [[String: Any]] ?? [])
    }

    /// (a) unsigned, (b) signed by a stranger's key, (c) a stranger adding its
    /// own key to `.signers` and a reader in one commit: all held back, named
    /// with commit and reason, and reported by `verify --history`. (d) a
    /// reader change signed by a trusted signer is accepted and used.
    func testOnlyChangesATrustedSignerSignedAreAccepted() throws {
        try setUpTeam()
        let mallory = try newReader("mallory"), erin = try newReader("erin"), carol = try newReader("carol"), dave = try newReader("dave")
        // The tester trusts bob as a signer.
        try cofOK(["signers", "add", try cofOK(["identity", "show"], env: bob, clean: false).stdoutText
            .split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init) ?? "", "--name", "bob"])
        try push(from: vaultDir)
        try pull(into: other)

        // (a) unsigned
        try append("\(mallory.recipient) # mallory", to: "prod/.recipients", in: other)
        let a = try commitByHand("prod: add mallory")
        // (b) signed by a key not in .signers
        let stranger = try sshKey("stranger")
        try append("\(erin.recipient) # erin", to: "prod/.recipients", in: other)
        let b = try commitByHand("prod: add erin", signingKey: stranger.file)
        // (c) a key added to .signers by itself, with a reader
        let eve = try sshKey("eve")
        try append("eve " + eve.line, to: ".signers", in: other)
        try append("\(carol.recipient) # carol", to: "prod/.recipients", in: other)
        let c = try commitByHand("add eve and carol", signingKey: eve.file)
        // (d) bob adds dave to dev with coffer: signed by a trusted signer.
        try cofOK(["recipients", "add", dave.recipient, "--name", "dave", "--scope", "dev"], env: bob, clean: false)
        let d = try head(in: other)
        try push(from: other)
        try pull()

        let refused = try cof(["set", "prod/new", "--stdin"], stdin: Data(canary("new").utf8))
        XCTAssertNotEqual(refused.status, 0, "a held-back reader was sealed for")
        for (commit, reason) in [(a, "unsigned"), (b, "not a trusted signer"), (c, "not a trusted signer")] {
            XCTAssertTrue(refused.stderrText.contains(String(commit.prefix(12))), "commit \(commit) not named: \(refused.stderrText)")
            XCTAssertTrue(refused.stderrText.contains(reason), "reason \(reason) not given: \(refused.stderrText)")
        }
        XCTAssertFalse(fileExists(sealedPath("prod/new")))

        let value = canary("dev-new")
        try cofOK(["set", "dev/new", "--stdin"], stdin: Data(value.utf8))
        XCTAssertEqual(try ageDecrypt(sealedPath("dev/new"), identity: dave.identityFile).stdoutText, value,
                       "the trusted reader change was not used")

        let signers = try cofOK(["signers", "list", "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(signers.contains("{\"name\":\"eve\",\"key\":\"\(eve.line.split(separator: " ").prefix(2).joined(separator: " "))\""), signers)
        XCTAssertTrue(signers.contains("\"trusted\":\"no\""), "eve's self-added line is shown as trusted: \(signers)")
        XCTAssertTrue(signers.contains("\"name\":\"bob\""), signers)

        let (status, findings) = try verifyHistory()
        XCTAssertEqual(status, 1)
        let held = findings.filter { $0["kind"] as? String == "held-back" }.compactMap { $0["commit"] as? String }
        XCTAssertEqual(Set(held), [a, b, c], "\(findings)")
        XCTAssertFalse(findings.contains { $0["commit"] as? String == d }, "the trusted change was reported: \(findings)")

        // eve's key never became trusted: a later change she signs is held too.
        try append("\(erin.recipient) # erin", to: "dev/.recipients", in: other)
        let later = try commitByHand("dev: add erin", signingKey: eve.file)
        try push(from: other)
        try pull()
        let status2 = try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(status2.contains(later), "eve's later change is not held back: \(status2)")
    }

    /// A signer removed at commit N cannot authorize anything after it.
    func testASignerRemovedCannotAuthorizeLaterChanges() throws {
        try setUpTeam()
        let bobSigner = try cofOK(["identity", "show"], env: bob, clean: false).stdoutText
            .split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init) ?? ""
        try cofOK(["signers", "add", bobSigner, "--name", "bob"])
        try cofOK(["signers", "rm", "bob"])
        let removal = try head()
        try push(from: vaultDir)
        try pull(into: other)
        let frank = try newReader("frank")
        try cofOK(["recipients", "add", frank.recipient, "--name", "frank", "--scope", "dev"], env: bob, clean: false)
        let after = try head(in: other)
        try push(from: other)
        try pull()
        let refused = try cof(["set", "dev/new", "--stdin"], stdin: Data(canary("x").utf8))
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderrText.contains("removed from the signers"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains(String(after.prefix(12))), refused.stderrText)
        let (status, findings) = try verifyHistory()
        XCTAssertEqual(status, 1)
        XCTAssertTrue(findings.contains { $0["commit"] as? String == after && $0["kind"] as? String == "held-back" }, "\(findings)")
        XCTAssertFalse(findings.contains { $0["commit"] as? String == removal }, "\(findings)")
    }

    /// Two trusted signers each add a reader on their own branch; a stock
    /// `git pull` merges them with an unsigned merge commit, and the chain
    /// holds: both readers are accepted.
    func testAStockGitMergeOfTrustedBranchesKeepsTheChain() throws {
        try setUpTeam()
        let bobSigner = try cofOK(["identity", "show"], env: bob, clean: false).stdoutText
            .split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init) ?? ""
        try cofOK(["signers", "add", bobSigner, "--name", "bob"])
        try push(from: vaultDir)
        try pull(into: other)
        let gail = try newReader("gail"), hal = try newReader("hal")
        try cofOK(["recipients", "add", gail.recipient, "--name", "gail", "--scope", "dev"], env: bob, clean: false)
        try push(from: other)
        try cofOK(["recipients", "add", hal.recipient, "--name", "hal", "--scope", "prod"])
        try pull()
        XCTAssertEqual(try gitOK(["rev-list", "--parents", "-n1", "HEAD"]).stdoutText.split(separator: " ").count, 3, "not a merge")
        let dev = canary("dev"), prod = canary("prod")
        try cofOK(["set", "dev/new", "--stdin"], stdin: Data(dev.utf8))
        try cofOK(["set", "prod/new", "--stdin"], stdin: Data(prod.utf8))
        XCTAssertEqual(try ageDecrypt(sealedPath("dev/new"), identity: gail.identityFile).stdoutText, dev)
        XCTAssertEqual(try ageDecrypt(sealedPath("prod/new"), identity: hal.identityFile).stdoutText, prod)
        let status = try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(status.contains("\"held\":[]"), status)
    }

    /// A force-push onto a new root with its own `.signers` is refused and
    /// reported; a fresh clone pins nothing without being told.
    func testARewrittenHistoryIsRefusedAndAFreshCloneDoesNotPinSilently() throws {
        try setUpTeam()
        // Mallory replaces the remote with a new vault of her own.
        let forged = path("forged")
        try cofOK(["init", forged, "--name", "mallory"], env: ["COFFER_IDENTITY": path("mallory.key"), "COFFER_VAULT": forged], clean: false)
        try gitOK(["push", "-q", "--force", remote, "HEAD:" + (try gitOK(["symbolic-ref", "--short", "HEAD"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))], in: forged)
        try gitOK(["fetch", "-q", "origin"])
        try gitOK(["reset", "-q", "--hard", "FETCH_HEAD"])
        let refused = try cof(["set", "--yes", "x", "--stdin"], stdin: Data("1".utf8), clean: false)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderrText.contains("rewritten"), refused.stderrText)
        let (status, findings) = try verifyHistory()
        XCTAssertEqual(status, 1)
        XCTAssertTrue(findings.contains { $0["kind"] as? String == "rewritten" }, "\(findings)")

        // A fresh clone of that remote: setup shows the signers and pins nothing.
        let fresh = path("fresh")
        try gitOK(["clone", "-q", remote, fresh], in: path(""))
        let setup = try cof(["setup"], env: ["COFFER_VAULT": fresh], clean: false)
        XCTAssertEqual(setup.status, 0, setup.stderrText)
        XCTAssertTrue(setup.stderrText.contains("mallory SHA256:"), setup.stderrText)
        XCTAssertTrue(setup.stderrText.contains("trusts no signer"), setup.stderrText)
        XCTAssertFalse(fileExists(fresh + "/.git/coffer/trust"), "pinned silently")
        let unpinned = try cof(["verify", "--history"], env: ["COFFER_VAULT": fresh], clean: false)
        XCTAssertEqual(unpinned.status, 1)
        let pin = try cof(["signers", "pin"], env: ["COFFER_VAULT": fresh], clean: false)
        XCTAssertNotEqual(pin.status, 0, "pinned without a terminal, --signer or --yes")
        XCTAssertFalse(fileExists(fresh + "/.git/coffer/trust"))
    }

    /// `identity rotate` signs with the retiring key, so every clone follows
    /// it; the retired key then authorizes nothing, in this clone or another.
    func testRotationKeepsTheChainAndRetiresTheOldKey() throws {
        try setUpTeam()
        let oldKey = path("old-signing")
        let decrypted = try ageDecrypt(identityFile + ".signing")
        XCTAssertEqual(decrypted.status, 0, decrypted.stderrText)
        try decrypted.stdout.write(to: URL(fileURLWithPath: oldKey))
        XCTAssertEqual(chmod(oldKey, 0o600), 0)
        try cofOK(["identity", "rotate"])
        try push(from: vaultDir)
        try pull(into: other)
        let bobStatus = try cofOK(["signers", "status", "-o", "json"], env: bob, clean: false).stdoutText
        XCTAssertTrue(bobStatus.contains("\"held\":[]"), "bob's clone did not follow the rotation: \(bobStatus)")
        XCTAssertEqual(try cof(["verify", "--history"], clean: false).status, 0)

        // A reader change signed with the retired key, by hand: held back everywhere.
        let ivan = try newReader("ivan")
        try append("\(ivan.recipient) # ivan", to: "dev/.recipients", in: vaultDir)
        try gitOK(["add", "-A"])
        try gitOK(["-c", "user.name=Old", "-c", "user.email=old@example.com", "-c", "gpg.format=ssh", "-c", "user.signingkey=" + oldKey,
                   "commit", "-S", "-q", "-m", "dev: add ivan"])
        let forged = try head()
        try push(from: vaultDir)
        try pull(into: other)
        for env in [[:], bob] {
            let status = try cofOK(["signers", "status", "-o", "json"], env: env, clean: false).stdoutText
            XCTAssertTrue(status.contains(forged), "a retired key's change was trusted: \(status)")
            XCTAssertTrue(status.contains("removed from the signers"), status)
        }
    }

    /// A vault with no `.signers` adopts signed history with `signers init`.
    func testSignersInitStartsTheChainInAnOlderVault() throws {
        try initVault()
        try cofOK(["set", "a=1"])
        try gitOK(["rm", "-q", ".signers"])
        try gitOK(["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "a vault from before signing"])
        // As if coffer had never pinned anything here: no trust state, no reflog to seed it from.
        XCTAssertEqual(unlink(vaultDir + "/.git/coffer/trust"), 0)
        XCTAssertEqual(unlink(vaultDir + "/.git/logs/HEAD"), 0)
        let status = try cof(["signers", "status"], clean: false)
        XCTAssertTrue(status.stderrText.contains("pinned no signers"), status.stderrText)
        XCTAssertEqual(try cof(["verify", "--history"], clean: false).status, 1, "nothing pinned, nothing verified")

        try cofOK(["signers", "init", "--name", "tester"])
        let pinned = try head()
        XCTAssertTrue(try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText.contains(pinned))
        let reader = try newReader("judy")
        try cofOK(["recipients", "add", reader.recipient, "--name", "judy"])
        XCTAssertEqual(try cof(["verify", "--history"], clean: false).status, 0)
        let again = try cof(["signers", "init"], clean: false)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderrText.contains("already has a .signers"), again.stderrText)
        // The whole history, not just the chain, shows the unsigned commit before it.
        let all = try cof(["verify", "--history", "HEAD", "-o", "json"], clean: false)
        XCTAssertEqual(all.status, 1)
        XCTAssertTrue(all.stdoutText.contains("\"unsigned\""), all.stdoutText)
    }

    // MARK: - Found by an adversarial review

    /// An untrusted line two commits back on a merged branch is not carried
    /// in by the unsigned merge (the branch's tip changed no trust file).
    func testAnUnsignedMergeDoesNotCarryAHeldLineFromDeeperInItsBranch() throws {
        try setUpTeam()
        let mallory = try newReader("mallory")
        try gitOK(["checkout", "-q", "-b", "evil"], in: other)
        try append("\(mallory.recipient) # mallory", to: "prod/.recipients", in: other)
        let origin = try commitByHand("add mallory")
        try append("hi", to: "notes.txt", in: other)
        _ = try commitByHand("unrelated")
        try gitOK(["checkout", "-q", "-"], in: other)
        try gitOK(["-c", "user.name=Bob", "-c", "user.email=b@example.com", "merge", "-q", "--no-ff", "--no-edit", "evil"], in: other)
        try push(from: other)
        try pull()
        let refused = try cof(["set", "prod/new", "--stdin"], stdin: Data(canary("x").utf8))
        XCTAssertNotEqual(refused.status, 0, "mallory was sealed for")
        XCTAssertTrue(refused.stderrText.contains("mallory"), refused.stderrText)
        XCTAssertFalse(fileExists(sealedPath("prod/new")))
        // Named: the commit the line came from, not the merge that carried it in.
        XCTAssertTrue(refused.stderrText.contains("added by commit \(origin.prefix(12))"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("git revert \(origin.prefix(12))"), refused.stderrText)
        let status = try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(status.contains("an unsigned merge whose history holds changes not trusted"), status)
    }

    /// A removal applies by name and key, whatever a held edit did to the line's comment.
    func testRemovingASignerWorksAfterAHeldEditOfItsLine() throws {
        try setUpTeam()
        let dan = try sshKey("dan")
        try cofOK(["signers", "add", dan.line, "--name", "dan"])
        try push(from: vaultDir)
        try pull(into: other)
        let file = other + "/.signers"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: "dan ssh-ed25519", with: "dan  ssh-ed25519").appending("").write(toFile: file, atomically: false, encoding: .utf8)
        try append("", to: ".signers", in: other)
        _ = try commitByHand("reformat dan's line")
        try push(from: other)
        try pull()
        try cofOK(["signers", "rm", "dan"])
        try push(from: vaultDir)
        try pull(into: other)
        let mallory = try newReader("mallory")
        try append("\(mallory.recipient) # mallory", to: "prod/.recipients", in: other)
        let late = try commitByHand("dan adds mallory", signingKey: dan.file)
        try push(from: other)
        try pull()
        let status = try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText
        XCTAssertFalse(status.contains("\"name\":\"dan\""), "dan is still trusted: \(status)")
        XCTAssertTrue(status.contains(late), "dan's later change is not held back: \(status)")
    }

    /// Judging a rewritten history afresh could bring back what a trusted
    /// change took away: any non-fast-forward is refused until re-pinned.
    func testARewriteThatDropsARemovalIsRefused() throws {
        try setUpTeam()
        let carol = try newReader("carol")
        try cofOK(["recipients", "add", carol.recipient, "--name", "carol", "--scope", "prod"])
        let added = try head()
        try cofOK(["recipients", "rm", "carol", "--scope", "prod"])
        try gitOK(["reset", "-q", "--hard", added])
        try append("y", to: "other.txt", in: vaultDir)
        try gitOK(["add", "-A"])
        try gitOK(["-c", "user.name=C", "-c", "user.email=c@example.com", "commit", "-q", "-m", "carol's rewrite"])
        let refused = try cof(["set", "prod/new", "--stdin"], stdin: Data(canary("x").utf8), clean: false)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderrText.contains("rewritten"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("signers pin"), refused.stderrText)
        XCTAssertFalse(fileExists(sealedPath("prod/new")))
        // A plain rewind is not a rewrite.
        try gitOK(["reset", "-q", "--hard", added])
        try cofOK(["signers", "status"], clean: false)
    }

    /// A fresh clone's first write does not make later commands pin
    /// silently from its own commit, as an upgraded clone would.
    func testAFreshClonesOwnCommitsDoNotPinItLater() throws {
        try setUpTeam()
        let fresh = path("fresh")
        try gitOK(["clone", "-q", remote, fresh], in: path(""))
        let env = ["COFFER_VAULT": fresh, "COFFER_IDENTITY": path("bob.key")]
        try cofOK(["set", "dev/b", "--stdin"], stdin: Data(canary("b").utf8), env: env, clean: false)
        try cofOK(["set", "dev/c", "--stdin"], stdin: Data(canary("c").utf8), env: env, clean: false)
        let status = try cof(["signers", "status"], env: env, clean: false)
        XCTAssertTrue(status.stderrText.contains("pinned no signers"), status.stderrText)
        XCTAssertFalse(fileExists(fresh + "/.git/coffer/trust"))
    }

    /// Neither a malformed `.recipients` a trusted signer later fixes nor a
    /// tree too deep for any vault stops later commands.
    func testPushedOddFilesDoNotStopLaterCommands() throws {
        try setUpTeam()
        try append("not a key", to: "prod/.recipients", in: other)
        _ = try commitByHand("broken")
        try push(from: other)
        try pull()
        try cofOK(["signers", "status"], clean: false)
        let git = try requireTool("git")
        func mktree(_ listing: String) throws -> String {
            try succeed(git, ["-C", other, "mktree"], stdin: Data(listing.utf8)).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let blob = try succeed(git, ["-C", other, "hash-object", "-w", "--stdin"], stdin: Data("x".utf8)).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var tree = try mktree("100644 blob \(blob)\tf\n")
        for _ in 0..<300 { tree = try mktree("040000 tree \(tree)\td\n") }
        try gitOK(["read-tree", "--prefix=deep/", tree], in: other)
        try gitOK(["-c", "user.name=Bob", "-c", "user.email=b@example.com", "commit", "-q", "-m", "deep"], in: other)
        try gitOK(["rm", "-rq", "--cached", "deep"], in: other)
        try gitOK(["-c", "user.name=Bob", "-c", "user.email=b@example.com", "commit", "-q", "-m", "undo deep"], in: other)
        try push(from: other)
        try pull()
        try cofOK(["signers", "status"], clean: false)
        try cofOK(["set", "dev/new", "--stdin"], stdin: Data(canary("d").utf8))
    }

    /// A signer removed at commit N cannot authorize a change on a branch
    /// forked before N and merged after it by stock git.
    func testARemovedSignersBranchForkedBeforeTheRemovalIsHeldBack() throws {
        try setUpTeam()
        let victim = path("victim")
        try gitOK(["clone", "-q", remote, victim], in: path(""))
        let victimEnv = ["COFFER_VAULT": victim]
        try cofOK(["setup", "--signer", try fingerprint()], env: victimEnv, clean: false)
        let bobSigner = try cofOK(["identity", "show"], env: bob, clean: false).stdoutText
            .split(separator: "\n").last { $0.hasPrefix("ssh-ed25519 ") }.map(String.init) ?? ""
        try cofOK(["signers", "add", bobSigner, "--name", "bob"])
        let trusted = try head()
        try cofOK(["signers", "rm", "bob"])
        try push(from: vaultDir)
        try gitOK(["fetch", "-q", "origin"], in: other)
        try gitOK(["reset", "-q", "--hard", trusted], in: other)
        let mallory = try newReader("mallory")
        try cofOK(["recipients", "add", mallory.recipient, "--name", "mallory", "--scope", "prod"], env: bob, clean: false)
        let forked = try head(in: other)
        try pull(into: other)
        try push(from: other)
        for (directory, env) in [(victim, victimEnv), (vaultDir, [:])] {
            try pull(into: directory)
            let refused = try cof(["set", "prod/new", "--stdin"], stdin: Data(canary("x").utf8), env: env, clean: false)
            XCTAssertNotEqual(refused.status, 0, "\(directory): mallory was sealed for")
            XCTAssertTrue(refused.stderrText.contains(String(forked.prefix(12))) && refused.stderrText.contains("removed from the signers"),
                          refused.stderrText)
        }
    }

    // MARK: - Found by a second adversarial review

    /// After criss-cross merges there are two merge bases, and the one
    /// libgit2 would pick is the committer's choice (by date): no unsigned
    /// set-merge then, so a removed reader cannot come back that way.
    func testACrissCrossMergeCannotBringARemovedReaderBack() throws {
        try setUpTeam()
        let mallory = try newReader("mallory")
        let a = try head()
        try cofOK(["recipients", "add", mallory.recipient, "--name", "mallory", "--scope", "prod"])
        let added = try head()
        try cofOK(["recipients", "rm", "mallory", "--scope", "prod"])
        let removed = try head()
        try push(from: vaultDir)
        try gitOK(["fetch", "-q", "origin"], in: other)
        let git = try requireTool("git")
        var environment = vaultEnvironment()
        environment["GIT_COMMITTER_DATE"] = "@2000000000 +0000"
        try gitOK(["checkout", "-q", a], in: other)
        try append("b", to: "b.txt", in: other)
        try gitOK(["add", "b.txt"], in: other)
        _ = try run(git, ["-C", other, "-c", "user.name=M", "-c", "user.email=m@example.com", "commit", "-q", "-m", "B"], environment: environment)
        let b = try head(in: other)
        func merge(_ onto: String, _ other2: String, _ message: String) throws -> String {
            try gitOK(["checkout", "-q", onto], in: other)
            try gitOK(["-c", "user.name=M", "-c", "user.email=m@example.com", "merge", "-q", "--no-ff", "--no-edit", other2, "-m", message], in: other)
            return try head(in: other)
        }
        let s1 = try merge(added, b, "s1"), s2 = try merge(removed, b, "s2")
        _ = try merge(s2, s1, "F")
        try append("\(mallory.recipient) # mallory", to: "prod/.recipients", in: other)
        try gitOK(["-c", "user.name=M", "-c", "user.email=m@example.com", "commit", "-q", "-a", "--amend", "--no-edit"], in: other)
        try gitOK(["push", "-q", "origin", "HEAD:" + (try gitOK(["symbolic-ref", "--short", "HEAD"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))], in: other)
        try pull()
        let refused = try cof(["set", "prod/new", "--stdin"], stdin: Data(canary("x").utf8))
        XCTAssertNotEqual(refused.status, 0, "mallory came back")
        XCTAssertTrue(refused.stderrText.contains("mallory"), refused.stderrText)
    }

    /// Another vault's history merged in (no common root): nothing in it is
    /// trusted, whoever signed it.
    func testAForeignHistoryMergedInIsHeldBack() throws {
        try setUpTeam()
        let mallory = try newReader("mallory")
        let elsewhere = path("elsewhere")
        try cofOK(["init", elsewhere, "--name", "tester-elsewhere"], env: ["COFFER_VAULT": elsewhere], clean: false)
        try cofOK(["recipients", "add", mallory.recipient, "--name", "mallory", "--scope", "prod"], env: ["COFFER_VAULT": elsewhere], clean: false)
        try gitOK(["fetch", "-q", elsewhere, "HEAD:foreign"], in: other)
        let merged = try git(["-c", "user.name=M", "-c", "user.email=m@example.com", "merge", "-q", "--allow-unrelated-histories", "--no-edit",
                              "-s", "ours", "foreign"], in: other)
        XCTAssertEqual(merged.status, 0, merged.stderrText)
        try append("\(mallory.recipient) # mallory", to: "prod/.recipients", in: other)
        try gitOK(["-c", "user.name=M", "-c", "user.email=m@example.com", "commit", "-q", "-a", "--amend", "--no-edit"], in: other)
        try push(from: other)
        try pull()
        let refused = try cof(["set", "prod/new", "--stdin"], stdin: Data(canary("x").utf8))
        XCTAssertNotEqual(refused.status, 0, "mallory was sealed for")
        let status = try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(status.contains("does not descend from this clone's pinned root"), status)
    }

    /// Renaming a signer (same key, new name, old name removed) is not a
    /// removal of its key: its later changes still count, here and elsewhere.
    func testRenamingASignerKeepsItsKeyTrusted() throws {
        try setUpTeam()
        let key = try signingKeyLine()
        try cofOK(["signers", "add", key, "--name", "tester-renamed"])
        try cofOK(["signers", "rm", "tester"])
        let reader = try newReader("kim")
        try cofOK(["recipients", "add", reader.recipient, "--name", "kim", "--scope", "dev"])
        try push(from: vaultDir)
        try pull(into: other)
        let status = try cofOK(["signers", "status", "-o", "json"], env: bob, clean: false).stdoutText
        XCTAssertTrue(status.contains("\"held\":[]"), status)
        XCTAssertTrue(status.contains("tester-renamed"), status)
        XCTAssertEqual(try cof(["verify", "--history"], env: bob, clean: false).status, 0)
    }

    /// A trust file far bigger than any coffer writes is held back unread.
    func testAnOversizedTrustFileIsHeldBackUnread() throws {
        try setUpTeam()
        let file = other + "/prod/.recipients"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try (text + "# " + String(repeating: "x", count: 2 << 20) + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let big = try commitByHand("a big comment")
        try push(from: other)
        try pull()
        let status = try cofOK(["signers", "status", "-o", "json"], clean: false).stdoutText
        XCTAssertTrue(status.contains(big), status)
    }
}
