import Age

/// `coffer generate`: a new random value, sealed and committed without
/// leaving this process except sealed (the caller may show it afterwards).
extension Vault {
    /// Plans one commit that stores a fresh value made by `recipe` as `id`;
    /// returns the plan and the value, for a caller that reveals it once
    /// the plan is applied. An existing `id` is refused unless `replacing`
    /// (checked now and again under the vault's lock, so a concurrent
    /// writer's secret is never overwritten). `me` as in `planSet`.
    public func planGenerate(_ id: SecretID, _ recipe: Recipe, replacing: Bool,
                             me: Set<ReaderKey>?) throws -> (plan: ChangePlan, value: SecureBytes) {
        guard replacing || !contains(id) else { throw VaultError.alreadyExists(id: id.value) }
        let readers = try readers(of: id)
        let value = recipe.generate()
        let change: VaultChange = replacing ? .set(id, value) : .create(id, value)
        let plan = ChangePlan(action: .generate, changes: [change], secretCount: 1,
                              risks: ChangePlan.unreadable([readers], by: me))
        return (plan, value)
    }
}
