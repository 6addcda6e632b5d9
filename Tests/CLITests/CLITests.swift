import Datasets
import Foundation
import TestSupport
import NN
import Testing
import Torch

/// Runs the built `glassbox` binary (it sits beside the test bundle).
struct CommandResult {
    var status: Int32
    var output: String
    var error: String
    /// The process died of a signal (a crash), rather than exiting.
    var crashed = false

    /// Failed the way a user should see: a non-zero exit with a message, no crash.
    var failedCleanly: Bool { !crashed && status != 0 && !error.isEmpty }
}

func glassbox(_ arguments: [String], environment: [String: String] = [:], unsetting unset: [String] = []) throws -> CommandResult {
    try RunningCommand(arguments, environment: environment, unsetting: unset).finish()
}

/// A stand-in benchmark peer in `folder`, run as `sh script folder`: each run appends its
/// settings.json to a log and runs `report`, shell lines that may use `$s` (2 seconds times the
/// run's number) and `$1` (the benchmark's folder). `rounds()` reads back the logged settings.
struct StandInPeer {
    let script: String, log: String

    init(in folder: URL, report: String) throws {
        (script, log) = (folder.appendingPathComponent("peer.sh").path, folder.appendingPathComponent("peer.log").path)
        try """
        cat "$1/settings.json" >> \(log); echo >> \(log)
        s=$(( $(wc -l < \(log)) * 2 ))
        \(report)
        """.write(toFile: script, atomically: true, encoding: .utf8)
    }

    func rounds() throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }
}

/// A `glassbox` process started and not yet waited for (for commands that run side by side).
final class RunningCommand {
    let process = Process()
    let out = Pipe(), err = Pipe()

    init(_ arguments: [String], environment: [String: String] = [:], unsetting unset: [String] = []) throws {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var binary = folder.appendingPathComponent("glassbox")
        if !FileManager.default.fileExists(atPath: binary.path) {
            binary = folder.deletingLastPathComponent().appendingPathComponent("glassbox")
        }
        process.executableURL = binary
        process.arguments = arguments + (arguments.contains("--threads") || arguments.contains("--help") || arguments == ["--version"] ? [] : ["--threads", "1"])
        if !environment.isEmpty || !unset.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.filter { !unset.contains($0.key) }
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    func finish() -> CommandResult {
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
                             error: String(decoding: errData, as: UTF8.self), crashed: process.terminationReason == .uncaughtSignal)
    }
}


/// A Glassbox model file for the demo CNN with random weights (the values do not matter to these tests).
func modelFile(in folder: URL) throws -> String {
    let path = folder.appendingPathComponent("model.safetensors").path
    try Safetensors.write(Architectures.mnistCNN(generator: Generator(seed: 1)).stateDict(),
                          metadata: ["glassbox.architecture": "mnist-cnn"], to: path)
    return path
}

/// A tiny MNIST-format folder: the first `count` bundled training and test digits.
func tinyMNIST(in folder: URL, count: Int) throws {
    let (train, test) = try MNIST.bundled()
    func write(_ set: LabelledImages, _ prefix: String) throws {
        let images = try (set.images.slice(dim: 0, start: 0, end: count) * 255.0).rounded().to(.uint8).scalars(as: UInt8.self)
        let labels = try set.labels.slice(dim: 0, start: 0, end: count).to(.uint8).scalars(as: UInt8.self)
        func header(_ type: UInt8, _ shape: [Int]) -> Data {
            var d = Data([0, 0, type, UInt8(shape.count)])
            for n in shape { d.append(contentsOf: [24, 16, 8, 0].map { UInt8((n >> $0) & 0xFF) }) }
            return d
        }
        try (header(8, [count, 28, 28]) + Data(images)).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try (header(8, [count]) + Data(labels)).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
    try write(train, "train")
    try write(test, "t10k")
}

@Suite("Command line", .serialized)
struct CLITests {
    @Test("help lists the commands")
    func helpListsCommands() throws {
        let result = try glassbox(["--help"])
        #expect(result.status == 0)
        for command in ["demo", "train", "evaluate", "predict"] { #expect(result.output.contains(command)) }
    }

    @Test("idle OpenMP threads wait passively unless the user chose a policy")
    func openMPWaitPolicy() throws {
        let started = try glassbox(["--version"], unsetting: ["OMP_WAIT_POLICY"])
        #expect(started.status == 0 && started.output.contains("wait PASSIVE"), "\(started.output)")
        let chosen = try glassbox(["--version"], environment: ["OMP_WAIT_POLICY": "ACTIVE"])
        #expect(chosen.status == 0 && chosen.output.contains("wait ACTIVE"), "\(chosen.output)")
    }

    @Test("OpenBLAS never runs its SSE3 fallback kernels on a CPU with AVX2, whichever way the process starts; a chosen core is kept")
    func blasKernels() throws {
        let flags = (try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)).split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let modern = flags.contains(" avx2") && flags.contains(" fma")
        // This test process inherited both variables from its own start: clear them.
        for environment in [[:], ["OMP_WAIT_POLICY": "PASSIVE"]] {
            let started = try glassbox(["--version"], environment: environment,
                                       unsetting: ["OPENBLAS_CORETYPE"] + (environment.isEmpty ? ["OMP_WAIT_POLICY"] : []))
            #expect(started.status == 0 && started.output.contains("OpenBLAS kernels"), "\(started.output)")
            if modern { #expect(!started.output.contains("kernels Prescott"), "\(environment): \(started.output)") }
        }
        if modern {
            let chosen = try glassbox(["--version"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
            #expect(chosen.output.contains("kernels Haswell"), "\(chosen.output)")
        }
    }

    @Test("bad flags and values fail with one clear message", arguments: [
        (["train", "--bogus"], "Unknown option '--bogus'"),
        (["train", "--epochs", "0"], "--epochs must be between 1 and 10000, got 0"),
        (["train", "--threads", "0"], "--threads must be between 1 and"),
        (["train", "--epochs", "many"], "The value 'many' is invalid for '--epochs"),
        (["predict", "--model", "/nonexistent/model.safetensors", "x.png"], "model file not found: /nonexistent/model.safetensors"),
        (["train", "--data", "/nonexistent/mnist"], "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in /nonexistent/mnist"),
    ] as [([String], String)])
    func badInputFails(arguments: [String], expected: String) throws {
        let result = try glassbox(arguments)
        #expect(result.status != 0)
        #expect(result.error.contains(expected), "stderr: \(result.error)")
    }

    @Test("train writes a model and checkpoint, resumes, and the model evaluates and predicts")
    func trainEvaluatePredict() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try tinyMNIST(in: data, count: 64)
        let out = folder.appendingPathComponent("run").path
        let first = try glassbox(["train", "--data", data.path, "--epochs", "1", "--out", out, "--seed", "3"])
        #expect(first.status == 0, "stderr: \(first.error)")
        for file in ["model.safetensors", "checkpoint.safetensors", "metrics.json"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "\(file) missing")
        }
        let resumed = try glassbox(["train", "--data", data.path, "--epochs", "2", "--out", out, "--seed", "3", "--resume"])
        #expect(resumed.status == 0)
        #expect(resumed.output.contains("resuming from"))
        #expect(resumed.output.contains("epoch  2") && !resumed.output.contains("epoch  1 "))

        let evaluation = try glassbox(["evaluate", "--model", "\(out)/model.safetensors", "--data", data.path, "--out", out])
        #expect(evaluation.status == 0, "stderr: \(evaluation.error)")
        #expect(evaluation.output.contains("accuracy"))
        #expect(FileManager.default.fileExists(atPath: "\(out)/evaluation.json"))

        let (_, test) = try MNIST.bundled()
        let png = folder.appendingPathComponent("digit.png").path
        try PNG.write(Image(tensor: test.images[0]), to: png)
        let npy = folder.appendingPathComponent("digits.npy").path
        try NumpyFile.write(test.images.slice(dim: 0, start: 0, end: 3), to: npy)
        let prediction = try glassbox(["predict", "--model", "\(out)/model.safetensors", png, npy])
        #expect(prediction.status == 0, "stderr: \(prediction.error)")
        let lines = prediction.output.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("digit.png: "))
        #expect(lines[3].hasPrefix("digits.npy[2]: "))
    }

    @Test("predict runs a TorchScript model too")
    func predictWithTorchScript() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let npy = folder.appendingPathComponent("x.npy").path
        try NumpyFile.write(Tensor.rand([28, 28], generator: Generator(seed: 1)), to: npy)
        let traced = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../NNTests/Fixtures/cnn_traced.pt").standardized.path
        let result = try glassbox(["predict", "--model", traced, npy, "--top", "2"])
        #expect(result.status == 0, "stderr: \(result.error)")
        #expect(result.output.hasPrefix("x.npy: "))
    }

    @Test("predict rejects wrong image sizes, NaN values and foreign weight files")
    func predictRejectsBadInput() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try modelFile(in: folder)
        let net = try Architectures.mnistCNN()
        let big = folder.appendingPathComponent("big.png").path
        try PNG.write(Image(width: 32, height: 32, channels: 1, pixels: Array(repeating: 0, count: 1024)), to: big)
        var result = try glassbox(["predict", "--model", model, big])
        #expect(result.status != 0)
        #expect(result.error.contains("is 32×32; the model expects 28×28"))
        let nan = folder.appendingPathComponent("nan.npy").path
        try NumpyFile.write(Tensor(Array(repeating: Float.nan, count: 784), shape: [28, 28]), to: nan)
        result = try glassbox(["predict", "--model", model, nan])
        #expect(result.error.contains("contains NaN or infinite values"))
        let wrongShape = folder.appendingPathComponent("wrong.npy").path
        try NumpyFile.write(Tensor.zeros([3, 28]), to: wrongShape)
        result = try glassbox(["predict", "--model", model, wrongShape])
        #expect(result.error.contains("has shape [3, 28]; expected (28, 28)"))
        let foreign = folder.appendingPathComponent("foreign.safetensors").path
        try Safetensors.write(net.stateDict(), to: foreign)
        result = try glassbox(["predict", "--model", foreign, big])
        #expect(result.error.contains("was not written by Glassbox"))
        let text = folder.appendingPathComponent("notes.txt").path
        try Data("hi".utf8).write(to: URL(fileURLWithPath: text))
        result = try glassbox(["predict", "--model", model, text])
        #expect(result.error.contains("unknown input type"))
    }
}
