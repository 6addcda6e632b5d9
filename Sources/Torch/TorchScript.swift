import CTorch
import Foundation

/// A TorchScript model (from `torch.jit.trace` or `torch.jit.script`), run by libtorch's JIT.
///
/// Loaded in evaluation mode on the CPU. Gradients flow through it, so input
/// gradients work; its layers are opaque (no hook points).
public final class ScriptModule: @unchecked Sendable {
    let handle: gbt_script_module

    /// Loads a model; a file libtorch cannot load gives one line (libtorch's first), not its stack dump.
    public init(contentsOf path: String) throws {
        try Limits.regularFile(path, what: "TorchScript file")
        _ = engineDefaults
        var out: gbt_script_module?
        guard gbt_script_load(path, &out) == 0, let out else {
            let detail = String(cString: gbt_last_error()).split(separator: "\n").first.map(String.init) ?? "unknown error"
            throw TorchError("cannot load TorchScript model \(path): \(detail) (a TorchScript model is the file torch.jit.save writes)")
        }
        handle = out
    }

    deinit {
        gbt_script_free(handle)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try withHandles(inputs) { handles in
            try makeTensor("TorchScript forward on \(inputs.map { shapeText($0.shape) }.joined(separator: ", "))") {
                gbt_script_forward(handle, handles, Int64(inputs.count), &$0)
            }
        }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try forward([x])
    }

    public func setTraining(_ training: Bool) throws {
        try check(gbt_script_set_training(handle, training ? 1 : 0), "set training mode")
    }

    /// Parameters with their state_dict names.
    public func namedParameters() throws -> [(name: String, tensor: Tensor)] {
        var n: Int64 = 0
        try check(gbt_script_parameter_count(handle, &n))
        return try (0..<n).map { i in
            var name: UnsafeMutablePointer<CChar>?
            var out: gbt_tensor?
            try check(gbt_script_parameter(handle, i, &name, &out))
            defer { gbt_string_free(name) }
            return (String(cString: name!), Tensor(handle: out!))
        }
    }
}
