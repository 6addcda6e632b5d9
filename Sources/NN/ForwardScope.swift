import Torch

/// Per-call changes to how models run: hooks on hook points and ReLU backward rules.
///
/// Bound to the calling task (or thread) for the length of one call (`Module.withHooks`,
/// `Module.withReLUBackwardRule`), never stored on a module, so two explanations of the same
/// model at the same time, on different threads or tasks, cannot see each other's changes.
/// Modules are keyed by identity; a scope holds no references to them.
final class ForwardScope: @unchecked Sendable {
    let hooks: [ObjectIdentifier: [ActivationHook]]
    let reluRules: [ObjectIdentifier: ReLUBackwardRule]

    init(hooks: [ObjectIdentifier: [ActivationHook]] = [:], reluRules: [ObjectIdentifier: ReLUBackwardRule] = [:]) {
        self.hooks = hooks
        self.reluRules = reluRules
    }

    /// The scope of the code running now. A class, not an optional closure: a task-local optional
    /// closure crashed in `swift_task_localValuePush` when built with -O (Swift 6.3).
    @TaskLocal static var current: ForwardScope? = nil

    /// Runs `body` with this scope's additions on top of the current scope's.
    static func with<R>(hooks added: [(Module, ActivationHook)] = [], reluRule: (ReLUBackwardRule, [Module])? = nil,
                        _ body: () throws -> R) rethrows -> R {
        var hooks = current?.hooks ?? [:]
        var rules = current?.reluRules ?? [:]
        for (module, hook) in added { hooks[ObjectIdentifier(module), default: []].append(hook) }
        if let (rule, modules) = reluRule {
            for module in modules { rules[ObjectIdentifier(module)] = rule }
        }
        return try $current.withValue(ForwardScope(hooks: hooks, reluRules: rules), operation: body)
    }
}
