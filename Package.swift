// swift-tools-version: 6.0
import Foundation
import PackageDescription

// libtorch comes from Debian's libtorch-dev by default. To build against another
// libtorch (for example the one inside a PyTorch wheel, for CUDA), set
// GLASSBOX_LIBTORCH to its folder (the one holding include/ and lib/), and
// GLASSBOX_LIBTORCH_CXX11_ABI=0 if that build uses the old C++ ABI.
let environment = ProcessInfo.processInfo.environment
let custom = environment["GLASSBOX_LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }
let includeRoot = custom.map { "\($0)/include" } ?? "/usr/include"
var cxxFlags = ["-I\(includeRoot)/torch/csrc/api/include", "-Wno-deprecated-declarations"]
if let custom { cxxFlags.append("-I\(custom)/include") }
if environment["GLASSBOX_LIBTORCH_CXX11_ABI"] == "0" { cxxFlags.append("-D_GLIBCXX_USE_CXX11_ABI=0") }
var linkerFlags: [String] = []
if let custom { linkerFlags += ["-L\(custom)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(custom)/lib"] }
// oneDNN (Debian's libdnnl-dev, the same library Debian's libtorch links) runs ResNet inference
// with Winograd convolutions (CTorch/convolution_plan.cpp). Without its headers, or with another
// libtorch, that path is left out and ResNets run on libtorch alone.
var extraLibraries: [LinkerSetting] = []
if custom == nil && FileManager.default.fileExists(atPath: "/usr/include/oneapi/dnnl/dnnl.hpp") {
    cxxFlags.append("-DGBT_HAS_DNNL")
    extraLibraries.append(.linkedLibrary("dnnl"))
}
// Data-parallel training runs on libtorch's c10d ProcessGroupGloo, whose headers need Debian's
// libgloo-dev (libtorch itself links libgloo). Without them, training stays on one process.
if custom == nil && FileManager.default.fileExists(atPath: "/usr/include/gloo/transport/tcp/device.h") {
    cxxFlags += ["-DGBT_HAS_GLOO", "-DUSE_C10D_GLOO"]
    extraLibraries.append(.linkedLibrary("gloo"))
}

// Fuzz targets (libFuzzer, one per file reader) exist only for scripts/fuzz.sh, which sets
// GLASSBOX_FUZZ=1 and builds them with -sanitize=fuzzer,address in .build-fuzz.
let fuzzTargets: [Target] = environment["GLASSBOX_FUZZ"] == "1" ? [
    ("Safetensors", "Torch"), ("Numpy", "Torch"), ("PNG", "Torch"), ("IDX", "Datasets"), ("Gzip", "Datasets"),
].map { name, module in
    .executableTarget(name: "Fuzz\(name)", dependencies: [.target(name: module), "FuzzDriver"], path: "Fuzz/\(name)",
                      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])],
                      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])])
} + [.target(name: "FuzzDriver", path: "Fuzz/Driver")] : []

let package = Package(
    name: "Glassbox",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Glassbox", targets: ["Torch", "NN", "Datasets", "ExplanationCore", "Attribution", "Evaluation", "Concepts", "Report", "Transparent", "TextModels", "AttentionStudies", "Superposition", "Geometry", "DictionaryLearning", "Adversarial", "Visualization", "Runs"]),
        .executable(name: "glassbox", targets: ["GlassboxCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "CTorch",
            // -fno-math-errno lets loops with sqrt vectorise (the shim never reads errno after math).
            cxxSettings: [.unsafeFlags(cxxFlags + ["-O2", "-fno-math-errno"])],
            linkerSettings: [
                .linkedLibrary("torch"), .linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("z"),
                .unsafeFlags(linkerFlags),
            ] + extraLibraries
        ),
        .target(name: "Torch", dependencies: ["CTorch"]),
        .target(name: "NN", dependencies: ["Torch"]),
        .target(name: "Datasets", dependencies: ["CTorch", "Torch"], resources: [.copy("Resources/mnist5k"), .copy("Resources/breast-cancer"),
                                                                                 .copy("Resources/tweets"), .copy("Resources/wordpiece")]),
        .target(name: "ExplanationCore", dependencies: ["Torch", "NN"]),
        .target(name: "Attribution", dependencies: ["Torch", "NN", "ExplanationCore"]),
        .target(name: "Evaluation", dependencies: ["Torch", "NN", "ExplanationCore"]),
        .target(name: "Concepts", dependencies: ["Torch", "NN", "ExplanationCore", "Evaluation"]),
        .target(name: "Report", dependencies: ["Torch"]),
        .target(name: "Transparent", dependencies: ["Torch"]),
        .target(name: "TextModels", dependencies: ["Torch", "NN"]),
        .target(name: "AttentionStudies", dependencies: ["Torch", "NN", "Datasets", "TextModels", "Attribution"]),
        .target(name: "DictionaryLearning", dependencies: ["Torch", "NN"]),
        .target(name: "Superposition", dependencies: ["Torch", "NN"]),
        .target(name: "Geometry", dependencies: ["Torch", "NN", "ExplanationCore"]),
        .target(name: "Adversarial", dependencies: ["Torch", "NN", "ExplanationCore"]),
        .target(name: "Visualization", dependencies: ["Torch", "NN", "ExplanationCore"]),
        .target(name: "Runs", dependencies: ["Torch", "NN", "Datasets", "ExplanationCore", "Attribution", "Evaluation", "Concepts", "Report", "Transparent", "TextModels",
                                             "AttentionStudies", "Superposition", "Geometry", "DictionaryLearning", "Adversarial", "Visualization"]),
        .executableTarget(
            name: "GlassboxCLI",
            dependencies: ["Torch", "NN", "ExplanationCore", "Attribution", "Evaluation", "Concepts", "Report", "Runs", "Transparent", "Datasets", "Superposition", "Geometry", "AttentionStudies", "DictionaryLearning", "Adversarial", "Visualization",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "TestSupport", dependencies: ["Torch"], path: "Tests/TestSupport"),
    ] + fuzzTargets + [
        .testTarget(name: "TorchTests", dependencies: ["Torch", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["TestSupport", "NN", "Torch", "Datasets"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ExplanationCoreTests", dependencies: ["TestSupport", "ExplanationCore", "Torch"]),
        .testTarget(name: "AttributionTests", dependencies: ["TestSupport", "ExplanationCore", "Attribution", "NN", "Torch", "TextModels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["TestSupport", "ExplanationCore", "Evaluation", "Attribution", "NN", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ConceptsTests", dependencies: ["TestSupport", "ExplanationCore", "Concepts", "Attribution", "Datasets", "NN", "Torch"]),
        .testTarget(name: "ReportTests", dependencies: ["TestSupport", "Report", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TransparentTests", dependencies: ["TestSupport", "Transparent", "Datasets", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["TestSupport", "Datasets", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SuperpositionTests", dependencies: ["TestSupport", "Superposition", "NN", "Torch"]),
        .testTarget(name: "DictionaryLearningTests", dependencies: ["TestSupport", "DictionaryLearning", "NN", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AdversarialTests", dependencies: ["TestSupport", "Adversarial", "ExplanationCore", "NN", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VisualizationTests", dependencies: ["TestSupport", "Visualization", "ExplanationCore", "NN", "Torch"]),
        .testTarget(name: "GeometryTests", dependencies: ["TestSupport", "Geometry", "NN", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AttentionStudiesTests", dependencies: ["TestSupport", "AttentionStudies", "TextModels", "NN", "Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RunsTests", dependencies: ["TestSupport", "ExplanationCore", "Runs", "Torch", "NN", "Datasets", "Adversarial", "Concepts", "TextModels"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "ExplanationCore", "GlassboxCLI", "Attribution", "NN", "Torch", "Datasets"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
