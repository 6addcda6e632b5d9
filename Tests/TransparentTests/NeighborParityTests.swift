import Testing
import TestSupport
import Torch
@testable import Transparent

@Suite("Nearest neighbours against scikit-learn")
struct NeighborParityTests {
    /// Float32 distances from a matrix product (ours) and from scikit-learn's own reduction can
    /// order two almost equidistant neighbours differently; we allow 0.5% of the 5,000 slots.
    @Test("neighbours and k-NN predictions match scikit-learn, Euclidean and cosine", arguments: NearestNeighbors.Metric.allCases)
    func neighbours(_ metric: NearestNeighbors.Metric) throws {
        let model = try NearestNeighbors(Fixture.mnistTrain(), metric: metric)
        let test = try Fixture.mnistTest()
        let found = try model.neighbors(of: test.features, k: 5)
        let expected = Fixture.values["knn_\(metric.rawValue)_neighbours"]!
        let mismatches = try found.indices.ne(expected).to(.int64).sum().itemInt()
        #expect(mismatches <= 25, "\(mismatches) of 5000 neighbour slots differ")
        for k in [1, 5] {
            let predictions = try model.predict(test.features, k: k)
            let differing = try predictions.ne(Fixture.values["knn_\(metric.rawValue)_k\(k)_predictions"]!).to(.int64).sum().itemInt()
            #expect(differing <= 2, "k = \(k): \(differing) predictions differ")
        }
    }
}
