import Concepts
import Datasets
import Foundation
import NN
import Torch
import Transparent

/// Which table the transparent models fit.
public enum TransparentDataset: String, CaseIterable, Codable, Sendable {
    case mnist, breastCancer = "breast-cancer", csv
}

/// What the columns are: the raw inputs (pixels, or a table's own columns), the five hand-made
/// digit features, a SENN's learned concepts, or principal components of the raw inputs.
public enum FeatureSpace: String, CaseIterable, Codable, Sendable {
    case pixels, handcrafted, concepts, pca
}

public struct TransparentDataOptions: Sendable {
    public var dataset: TransparentDataset = .mnist
    public var features: FeatureSpace = .pixels
    public var mnist: MNISTSource = .bundled
    /// For `.csv`: the file, its label column, and the share held out for testing.
    public var csvPath: String?
    public var labelColumn = "label"
    public var testFraction = 0.2
    /// A SENN model file (`glassbox senn train`), for `.concepts`.
    public var sennPath: String?
    public var components = 20
    public var seed: UInt64 = 0

    public init() {}
}

/// Training and test tables for the transparent models, with names for their columns and classes.
public struct TransparentData {
    public let train: LabelledFeatures
    public let test: LabelledFeatures
    public let featureNames: [String]
    public let classNames: [String]
    /// The digits themselves (MNIST only), for pages that show examples.
    public let trainImages: Tensor?
    public let testImages: Tensor?
    public let description: String

    public static func load(_ options: TransparentDataOptions) throws -> TransparentData {
        switch options.dataset {
        case .mnist:
            let (train, test, description) = try options.mnist.load()
            let classNames = (0..<MNIST.classes).map(String.init)
            let (trainX, testX, names, detail) = try features(options, trainImages: train.images, testImages: test.images)
            return TransparentData(train: try LabelledFeatures(features: trainX, labels: train.labels, classes: MNIST.classes),
                                   test: try LabelledFeatures(features: testX, labels: test.labels, classes: MNIST.classes),
                                   featureNames: names, classNames: classNames, trainImages: train.images, testImages: test.images,
                                   description: "\(description); \(detail)")
        case .breastCancer, .csv:
            let table: (train: LabelledTable, test: LabelledTable), source: String
            if options.dataset == .breastCancer {
                table = try BreastCancer.bundled()
                source = "the bundled breast-cancer table (454 train, 115 test, standardised)"
            } else {
                guard let path = options.csvPath else { throw TorchError("--dataset csv needs --csv FILE (a header row and a label column)") }
                let whole = try CSVTable.read(path, labelColumn: options.labelColumn)
                table = try whole.split(testFraction: options.testFraction, seed: options.seed)
                source = "\(path) (\(table.train.count) train, \(table.test.count) test rows, stratified split with seed \(options.seed))"
            }
            let classes = table.train.classNames.count
            switch options.features {
            case .pixels:
                return TransparentData(train: try LabelledFeatures(features: table.train.features, labels: table.train.labels, classes: classes),
                                       test: try LabelledFeatures(features: table.test.features, labels: table.test.labels, classes: classes),
                                       featureNames: table.train.featureNames, classNames: table.train.classNames,
                                       trainImages: nil, testImages: nil, description: "\(source); the table's own columns")
            case .pca:
                let pca = try PrincipalComponents(fitting: table.train.features, components: Swift.min(options.components, table.train.featureNames.count))
                return TransparentData(train: try LabelledFeatures(features: pca.transform(table.train.features), labels: table.train.labels, classes: classes),
                                       test: try LabelledFeatures(features: pca.transform(table.test.features), labels: table.test.labels, classes: classes),
                                       featureNames: (1...pca.components.shape[0]).map { "PC\($0)" }, classNames: table.train.classNames,
                                       trainImages: nil, testImages: nil, description: "\(source); \(pcaDetail(pca))")
            case .handcrafted:
                throw TorchError("hand-made features are defined for MNIST digits; for tables use --features pixels (the columns) or pca")
            case .concepts:
                throw TorchError("concept features come from a SENN on MNIST digits; for tables use --features pixels or pca")
            }
        }
    }

    static func pcaDetail(_ pca: PrincipalComponents) -> String {
        String(format: "the first %d principal components (%.1f%% of the variance)", pca.components.shape[0],
               100 * pca.explainedVarianceRatio.reduce(0, +))
    }

    /// The chosen feature space of MNIST digits.
    static func features(_ options: TransparentDataOptions, trainImages: Tensor, testImages: Tensor) throws -> (Tensor, Tensor, [String], String) {
        switch options.features {
        case .pixels:
            let names = (0..<784).map { "pixel (\($0 / 28), \($0 % 28))" }
            return (try trainImages.flattened(from: 1), try testImages.flattened(from: 1), names, "784 pixels")
        case .handcrafted:
            return (try DigitFeatures.compute(trainImages), try DigitFeatures.compute(testImages), DigitFeatures.names,
                    "five hand-made features (\(DigitFeatures.names.joined(separator: ", ")))")
        case .pca:
            let pca = try PrincipalComponents(fitting: trainImages.flattened(from: 1), components: options.components)
            return (try pca.transform(trainImages.flattened(from: 1)), try pca.transform(testImages.flattened(from: 1)),
                    (1...options.components).map { "PC\($0)" }, pcaDetail(pca))
        case .concepts:
            guard let path = options.sennPath else {
                throw TorchError("--features concepts needs --senn MODEL (a SENN trained on MNIST with `glassbox senn train`)")
            }
            let file = try SENNFile.load(path)
            guard file.dataset == .mnist else { throw TorchError("\(path) is a SENN for \(file.dataset.rawValue), not for MNIST digits") }
            file.model.eval()
            func concepts(_ x: Tensor) throws -> Tensor { try noGrad { try file.model.explain(x).concepts.flattened(from: 1) } }
            return (try concepts(trainImages), try concepts(testImages), file.conceptNames,
                    "the \(file.model.concepts) concepts of the SENN in \(path)")
        }
    }
}
