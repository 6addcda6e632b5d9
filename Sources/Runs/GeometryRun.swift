import Datasets
import ExplanationCore
import Foundation
import Geometry
import NN
import Report
import Torch

/// `glassbox geometry`: the Jacobian between two hook points for a batch of inputs — spectra,
/// effective ranks, subspace agreement — with the invariance check at the `to` layer, optional
/// consecutive pairs and the same pair through training; geometry.json holds the numbers and
/// geometry.html the figures.
public enum GeometryRun {
    public struct Settings: Sendable {
        public var from = LayerJacobian.modelInput
        public var to = "9"
        public var inputs = 256
        public var topK = 10
        public var relativeThreshold = 1e-3
        /// Hook points whose consecutive pairs are studied too (empty: none).
        public var chain: [String] = []
        public var invariance = true
        /// Epochs of the demo CNN trained from scratch with the spectrum measured after each (0: none).
        public var trainingEpochs = 0

        public init() {}
    }

    public struct Record: Codable, Sendable {
        public var model: String
        public var pair: LayerPairStudy
        public var chain: [LayerPairStudy]
        public var invariance: [InvarianceStudy.Outcome]?
        /// Which layer the invariance study reparametrised, or why it did not run.
        public var invarianceNote: String
        public var training: [SpectraThroughTraining.Point]?
        public var seed: UInt64
        public var seconds: Double
        public var machine: String
    }

    /// `isDemoCNN`: the model is the demo's MNIST CNN, which `trainingEpochs` trains afresh.
    public static func run(_ model: Explainable, named name: String, isDemoCNN: Bool, inputs: Tensor, settings: Settings,
                           seed: UInt64, out: String) throws -> Record {
        guard inputs.shape.first ?? 0 >= 2 else { throw TorchError("the geometry study needs at least 2 inputs, got \(inputs.shape.first ?? 0)") }
        guard settings.trainingEpochs == 0 || isDemoCNN else {
            throw TorchError("--through-training trains the demo MNIST CNN; this model is another architecture. Leave it out, or pass an mnist-cnn model")
        }
        try OutputFolder.prepare(out)
        let started = Date()
        ProgressObserver.note("Jacobians \(settings.from) → \(settings.to)")
        let pair = try LayerPairStudy(model, from: settings.from, to: settings.to, inputs: inputs, maxInputs: settings.inputs,
                                      topK: settings.topK, relativeThreshold: settings.relativeThreshold)
        let chain = try zip(settings.chain, settings.chain.dropFirst()).map { from, to in
            ProgressObserver.note("Jacobians \(from) → \(to)")
            return try LayerPairStudy(model, from: from, to: to, inputs: inputs, maxInputs: settings.inputs, maxBytes: 2.5e8,
                                      topK: settings.topK, relativeThreshold: settings.relativeThreshold)
        }
        var invariance: [InvarianceStudy.Outcome]?
        var note = "not run (--no-invariance)"
        if settings.invariance {
            if let module = model.module, let study = invarianceStudy(module, at: settings.to, from: settings.from) {
                ProgressObserver.note("changes of basis at \(settings.to)")
                let count = min(inputs.shape[0], settings.inputs)
                invariance = try study.run(module, jacobianInputs: inputs.slice(dim: 0, start: 0, end: min(count, 64)),
                                           activationInputs: inputs.slice(dim: 0, start: 0, end: count), seed: seed)
                note = "h′ = A·h at '\(study.hidden)', read by the linear layer '\(study.next)' with W·A⁻¹; Jacobians from '\(study.from)' into '\(study.hidden)' and across to '\(study.output)', on the first \(min(count, 64)) inputs; neuron measures on \(count)"
            } else {
                note = "not run: '\(settings.to)' is not a layer of a native sequential model read by a linear layer (the change of basis needs one to undo it)"
            }
        }
        let training = settings.trainingEpochs > 0
            ? try SpectraThroughTraining(epochs: settings.trainingEpochs, from: settings.from, to: settings.to)
                .run(inputs: inputs.slice(dim: 0, start: 0, end: min(inputs.shape[0], 64)), seed: seed)
            : nil
        let record = Record(model: name, pair: pair, chain: chain, invariance: invariance, invarianceNote: note, training: training,
                            seed: seed, seconds: Date().timeIntervalSince(started), machine: MachineDescription.current.summary)
        try JSONFile.write(record, to: "\(out)/geometry.json")
        try GeometryPage.page(record).write(to: "\(out)/geometry.html")
        return record
    }

    /// The geometry of a language model's last MLP sublayer, token by token (`MLPSublayer`): the
    /// inputs are residual-stream states at `hook_resid_mid` of the validation tweets' tokens, a
    /// random `settings.inputs` of them for the Jacobians. `settings.from` is "input" (the
    /// sublayer's input) or a hook point inside it; `settings.to` one inside it or "output".
    public static func languageModel(_ modelPath: String, settings: Settings, seed: UInt64, out: String) throws -> Record {
        let lm = try LanguageModelFile.load(modelPath)
        let sublayer = MLPSublayer(try lm.model.block(lm.model.configuration.layers - 1))
        let texts = Array(try TweetCorpus.bundled(task: .threeClass).validation.texts.prefix(400))
        let ids = try TokenBatch.trimmed(LanguageModelRun.sequences(texts, encode: lm.encode, maxLength: lm.model.configuration.maxLength))
        let states = try layerActivations(lm.model, ids, hookPoint: sublayer.inputHookPoint)
        let positions = try ids.flattened().ne(0).scalars(as: Bool.self).enumerated().filter(\.element).map { Int64($0.offset) }
        let order = try Tensor.randperm(positions.count, generator: Generator(seed: seed)).scalars(as: Int64.self).map { positions[Int($0)] }
        let inputs = try states.flattened(from: 0, to: 1).indexSelect(dim: 0, index: Tensor(order, shape: [order.count]))
        ProgressObserver.note("\(inputs.shape[0]) token states at \(sublayer.inputHookPoint) of \(texts.count) validation tweets")
        return try run(sublayer, named: (modelPath as NSString).lastPathComponent + " (MLP sublayer, per token)", isDemoCNN: false,
                       inputs: inputs, settings: settings, seed: seed, out: out)
    }

    /// The headline numbers, one line each, for the command line.
    public static func summary(_ record: Record) -> [String] {
        let pairs = record.chain.isEmpty ? [record.pair] : [record.pair] + record.chain
        return pairs.map { p in
            String(format: "%@ → %@ (%d → %d, %d inputs): entropy rank %.1f, participation ratio %.1f, threshold rank %.1f of %d; top-%d overlap between inputs %.3f (random %.3f)",
                   p.from, p.to, p.inputDimension, p.outputDimension, p.inputs, p.meanRanks.entropy, p.meanRanks.participation, p.meanRanks.threshold,
                   min(p.inputDimension, p.outputDimension), p.agreement.k, p.agreement.inputSideOverlap, p.agreement.inputSideChance)
        } + (record.invariance ?? []).map { o in
            String(format: "%@ change of basis at %@: output change %.1e, σ change into %.1e, across %.1e; inactive share %.2f → %.2f, top-9 inputs kept %.0f%%",
                   o.kind.rawValue, record.pair.to, o.outputChange, o.intoLayer.largestSingularValueChange, o.acrossLayer.largestSingularValueChange,
                   o.before.inactiveShare, o.after.inactiveShare, 100 * o.topInputOverlap)
        } + (record.training ?? []).map { p in
            String(format: "epoch %d: test accuracy %.2f%%, entropy rank %.1f, participation ratio %.1f", p.epoch, 100 * p.testAccuracy, p.entropyRank, p.participationRatio)
        }
    }

    /// The invariance study at `hookPoint` when it is a layer of a sequential model followed by
    /// a linear layer; the crossing Jacobian ends at the model's last layer.
    static func invarianceStudy(_ model: Module, at hookPoint: String, from: String) -> InvarianceStudy? {
        if let sublayer = model as? MLPSublayer, hookPoint == sublayer.neuronHookPoint {
            var study = InvarianceStudy(hidden: hookPoint, next: sublayer.readerPath, output: sublayer.mlpOutputHookPoint)
            study.from = from
            return study
        }
        guard let sequential = model as? Sequential,
              let index = sequential.layers.firstIndex(where: { $0.path == hookPoint }),
              index + 1 < sequential.layers.count, sequential.layers[index + 1] is Linear else { return nil }
        var study = InvarianceStudy(hidden: hookPoint, next: sequential.layers[index + 1].path, output: sequential.layers.last!.path)
        study.from = from
        return study
    }
}
