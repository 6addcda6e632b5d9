import Datasets
import Foundation
import NN
import Report
import Torch
import Transparent

/// `glassbox transparent linear`: multinomial logistic regression read as its weights (Lipton 2018,
/// "The Mythos of Model Interpretability": simulatability and decomposability), global weights beside
/// a network's local gradients, and the perceptron's and hard-margin SVM's guarantees
/// (algorithmic transparency).
public enum LinearStudy {
    public struct Record: Codable, Sendable {
        public var data: String
        public var inverseStrength: Double
        public var penalty: String
        public var trainAccuracy: Double
        public var testAccuracy: Double
        public var iterations: Int
        public var converged: Bool
        public var seconds: Double
        public var nonzeroWeights: Int
        public var guarantees: [Guarantee]
    }

    /// One demonstration of a training guarantee on a pair of digit classes.
    public struct Guarantee: Codable, Sendable {
        public var model: String
        public var classes: [Int]
        public var separable: Bool
        public var trainingErrors: Int
        public var detail: String
    }

    public static func run(data: TransparentData, settings: LogisticRegression.Settings, network: Module?, out: String) throws
        -> (record: Record, model: LogisticRegression) {
        try OutputFolder.prepare(out)
        let started = Date()
        ProgressObserver.note("fitting multinomial logistic regression (C = \(settings.inverseStrength), \(settings.penalty.rawValue)) on \(data.train.count) examples")
        // Progress on a log scale: from the first residual down to the tolerance.
        var first: Double?
        let model = try LogisticRegression.fit(data.train, settings: settings) { iteration, residual in
            let start = first ?? residual
            first = start
            let fraction = Swift.min(1, Swift.max(0, Foundation.log(start / Swift.max(residual, 1e-300)) / Foundation.log(start / settings.tolerance)))
            ProgressObserver.report("logistic regression", done: Int(100 * fraction), of: 100, unit: "%",
                                    status: String(format: "iteration %d, residual %.1e → %.0e", iteration, residual, settings.tolerance))
        }
        let seconds = Date().timeIntervalSince(started)
        let trainAccuracy = try accuracy(of: model.predict(data.train.features), against: data.train.labels)
        let testAccuracy = try accuracy(of: model.predict(data.test.features), against: data.test.labels)
        try Safetensors.write(["weights": model.weights, "bias": model.bias], metadata: ["glassbox.model": "logistic-regression",
                              "classes": data.classNames.joined(separator: ","), "features": data.featureNames.joined(separator: "\t")],
                              to: path(out, "linear-model.safetensors"))
        var page = HTMLPage(title: "Transparent baseline: logistic regression")
        page.keyValues([
            ("data", data.description), ("model", "multinomial logistic regression, \(model.parameterCount) parameters"),
            ("penalty", "\(settings.penalty.rawValue), C = \(settings.inverseStrength) (scikit-learn's convention)"),
            ("fit", String(format: "%d iterations (%@), %.2f s, %@", model.iterations, settings.penalty == .l2 ? "L-BFGS" : "FISTA", seconds,
                           model.converged ? "converged" : "NOT converged: raise --max-iterations")),
            ("accuracy", String(format: "train %.2f%%, test %.2f%%", 100 * trainAccuracy, 100 * testAccuracy)),
        ])
        if data.trainImages != nil, data.featureNames.count == 784 {
            try weightImages(model: model, data: data, network: network, out: out, page: &page)
        } else {
            page.heading("Weights")
            page.paragraph("One bar per feature: how much a unit increase of the feature raises each class's score.")
            for c in 0..<data.train.classes where data.train.classes > 2 || c == 1 {
                page.html(BarChart(title: "class \(data.classNames[c])", labels: data.featureNames,
                                   values: try model.weights[c].scalars(as: Double.self)).svg())
            }
        }
        var guarantees: [Guarantee] = []
        if let images = data.trainImages {
            guarantees = try transparencyGuarantees(images: images, labels: data.train.labels, page: &page, out: out)
        }
        let record = Record(data: data.description, inverseStrength: settings.inverseStrength, penalty: settings.penalty.rawValue,
                            trainAccuracy: trainAccuracy, testAccuracy: testAccuracy, iterations: model.iterations, converged: model.converged,
                            seconds: seconds, nonzeroWeights: try model.weights.ne(0).to(.int64).sum().itemInt(), guarantees: guarantees)
        try JSONFile.write(record, to: path(out, "linear.json"))
        try page.write(to: path(out, "linear.html"))
        return (record, model)
    }

    /// Class weight maps on one shared scale beside the class means, and (with a network) the
    /// network's class-3 gradient for two different 3s beside the one weight map of class 3.
    static func weightImages(model: LogisticRegression, data: TransparentData, network: Module?, out: String, page: inout HTMLPage) throws {
        let maps = try model.weights.reshaped([data.train.classes, 28, 28])
        let weights = try DivergingMap.colors(maps)
        let means = try Tensor.stack((0..<data.train.classes).map { c in
            try data.trainImages!.indexSelect(dim: 0, index: data.train.labels.eq(Double(c)).nonzeroIndices()).mean(dims: [0])
        }).expanded(to: [data.train.classes, 3, 28, 28])
        try PNG.write(ImageMosaic.render(Tensor.stack([weights, means]), scale: 3), to: path(out, "weights.png"))
        page.heading("The weights are the explanation")
        page.paragraph("Top row: the weight each pixel gives each class (digits 0 to 9), red positive, blue negative, white zero, all ten on one scale. Bottom row: the mean training digit of each class. Positive weights trace where a class's ink lies and the others' does not: the 0's ring around a blank centre, the 3's open curves. The whole model is these ten pictures and ten biases.")
        page.image("weights.png", caption: "Class weight maps (top) and class means (bottom)")
        guard let network, let testImages = data.testImages else {
            page.paragraph("Pass --model (the demo CNN) to compare these global weights with the network's local gradients.")
            return
        }
        let threes = try data.test.labels.eq(3).nonzeroIndices().slice(dim: 0, start: 0, end: 2)
        let x = try testImages.indexSelect(dim: 0, index: threes).detached().requiringGrad()
        network.eval()
        let gradients = try withGrad { try Tensor.grad(of: network(x).select(dim: 1, index: 3).sum(), wrt: x) }.squeezed(dim: 1)
        let row = try Tensor.cat([DivergingMap.colors(maps.slice(dim: 0, start: 3, end: 4)),
                                  DivergingMap.colors(gradients.slice(dim: 0, start: 0, end: 1)),
                                  DivergingMap.colors(gradients.slice(dim: 0, start: 1, end: 2)),
                                  x.detached().expanded(to: [2, 3, 28, 28])])
        try PNG.write(ImageMosaic.render(row.unsqueezed(dim: 0), scale: 4), to: path(out, "global-vs-local.png"))
        page.heading("Global weights, local gradients")
        page.paragraph("Left: the linear model's single weight map for class 3, the same for every input. Then the gradient of the CNN's class-3 logit for two different 3s (each on its own scale), and the two digits. The network's explanation is local: it changes with the input, and no single picture summarises the model.")
        page.image("global-vs-local.png", caption: "Class-3 weights; CNN class-3 gradients of two test 3s; the two 3s")
    }

    /// The perceptron reaches zero training error on separable classes and the hard-margin SVM
    /// is unique; on a non-separable pair the perceptron never settles.
    static func transparencyGuarantees(images: Tensor, labels: Tensor, page: inout HTMLPage, out: String) throws -> [Guarantee] {
        var guarantees: [Guarantee] = []
        page.heading("Algorithmic transparency: guarantees you can check")
        var rows: [(String, String)] = []
        // 0 vs 1 on pixels is separable; 4 vs 9 on the five hand-made features is not.
        for (a, b, maxEpochs, handMade) in [(0, 1, 1000, false), (4, 9, 50, true)] {
            let members = try labels.eq(Double(a)).logicalOr(labels.eq(Double(b))).nonzeroIndices()
            let digits = try images.indexSelect(dim: 0, index: members)
            let pair = try LabelledFeatures(features: handMade ? DigitFeatures.compute(digits) : digits.flattened(from: 1),
                                            labels: labels.indexSelect(dim: 0, index: members).eq(Double(b)).to(.int64), classes: 2)
            let space = handMade ? "hand-made features" : "pixels"
            let perceptron = try Perceptron.fit(pair, maxEpochs: maxEpochs)
            let errors = try perceptron.predict(pair.features).ne(pair.labels).to(.int64).sum().itemInt()
            let detail = perceptron.converged
                ? "zero training errors after \(perceptron.updates[0]) updates in \(perceptron.epochs[0]) epochs: the classes are linearly separable (Novikoff's theorem guarantees this)"
                : "still \(errors) training errors after \(maxEpochs) epochs (\(perceptron.updates[0]) updates): no separating hyperplane was found, so the guarantee does not apply"
            rows.append(("perceptron, \(a) vs \(b) on \(space) (\(pair.count) digits)", detail))
            guarantees.append(Guarantee(model: "perceptron", classes: [a, b], separable: perceptron.converged, trainingErrors: errors, detail: detail))
            guard perceptron.converged else {
                let soft = try SoftMarginSVM.fit(pair, inverseStrength: 1)
                let softErrors = try soft.predict(pair.features).ne(pair.labels).to(.int64).sum().itemInt()
                let margins = try soft.decision(pair.features) * (pair.labels.to(.float64) * 2 - 1)
                let inside = try margins.lt(1 - 1e-9).to(.int64).sum().itemInt()
                let softDetail = "no hard margin exists; the hinge-loss SVM (C = 1) still has one optimum: \(softErrors) training errors, \(inside) digits inside the margin, \(soft.supportVectors.count) support vectors"
                rows.append(("soft-margin SVM, \(a) vs \(b) on \(space)", softDetail))
                guarantees.append(Guarantee(model: "soft-margin SVM", classes: [a, b], separable: false, trainingErrors: softErrors, detail: softDetail))
                continue
            }
            let svm = try HardMarginSVM.fit(pair)
            let svmErrors = try svm.predict(pair.features).ne(pair.labels).to(.int64).sum().itemInt()
            // Refit both on the samples in reverse order: the perceptron's answer depends on the order, the SVM's does not.
            let reversed = try pair.rows(Tensor.arange(Double(pair.count - 1), -1, step: -1))
            func change(_ a: Tensor, _ b: Tensor) throws -> Double { try (a - b).abs().max().item() / Swift.max(try a.abs().max().item(), 1e-300) }
            let perceptronChange = try change(perceptron.weights[0], Perceptron.fit(reversed, maxEpochs: maxEpochs).weights[0])
            let svmChange = try change(svm.weights, HardMarginSVM.fit(reversed).weights)
            rows.append(("refit on the reversed sample order", String(format: "perceptron weights move by %.2g of their largest; SVM weights by %.1g (the widest-margin hyperplane is unique)", perceptronChange, svmChange)))
            let svmDetail = String(format: "margin %.4f, %d support vectors, %d training errors; refitting on the reversed order moves w by %.1g of its largest weight (the perceptron's: %.2g)", try svm.margin, svm.supportVectors.count, svmErrors, svmChange, perceptronChange)
            rows.append(("hard-margin SVM, \(a) vs \(b) on \(space)", svmDetail))
            guarantees.append(Guarantee(model: "hard-margin SVM", classes: [a, b], separable: true, trainingErrors: svmErrors, detail: svmDetail))
            guard !handMade else { continue }
            let support = try pair.features.indexSelect(dim: 0, index: Tensor(svm.supportVectors, shape: [svm.supportVectors.count]))
            let shown = Swift.min(16, support.shape[0])
            try PNG.write(ImageMosaic.render(support.slice(dim: 0, start: 0, end: shown).reshaped([1, shown, 1, 28, 28]), scale: 2),
                          to: path(out, "support-vectors.png"))
        }
        page.keyValues(rows)
        page.paragraph("The SVM's decision depends only on its support vectors, the digits on the margin (below): an explanation by the examples that pin the boundary.")
        page.image("support-vectors.png", caption: "Support vectors of the 0-vs-1 hard-margin SVM")
        return guarantees
    }
}

func path(_ folder: String, _ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

/// Indices of the true entries of a one-dimensional mask, as int64.
