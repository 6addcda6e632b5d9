/// The one-to-one assignment of rows to columns with the largest total score (the Hungarian
/// method, Kuhn 1955, with the shortest-augmenting-path potentials of Jonker & Volgenant):
/// O(rows² · columns). Used to match dictionary features across runs by their correlation.
public enum LinearAssignment {
    /// For each row, its column; rows ≤ columns. `scores` is row-major (rows × columns).
    public static func maximize(_ scores: [Double], rows: Int, columns: Int) -> [Int] {
        precondition(rows <= columns && scores.count == rows * columns, "need rows ≤ columns and a full score matrix")
        guard rows > 0 else { return [] }
        // Minimise the negated scores; 1-based arrays with a sentinel column 0.
        var u = [Double](repeating: 0, count: rows + 1), v = [Double](repeating: 0, count: columns + 1)
        var owner = [Int](repeating: 0, count: columns + 1), way = [Int](repeating: 0, count: columns + 1)
        var reach = [Double](repeating: 0, count: columns + 1), used = [Bool](repeating: false, count: columns + 1)
        for row in 1...rows {
            owner[0] = row
            var column0 = 0
            for j in 0...columns { reach[j] = .infinity; used[j] = false }
            repeat {
                used[column0] = true
                let i0 = owner[column0]
                var delta = Double.infinity, column1 = 0
                let base = (i0 - 1) * columns
                for j in 1...columns where !used[j] {
                    let cost = -scores[base + j - 1] - u[i0] - v[j]
                    if cost < reach[j] { reach[j] = cost; way[j] = column0 }
                    if reach[j] < delta { delta = reach[j]; column1 = j }
                }
                for j in 0...columns {
                    if used[j] { u[owner[j]] += delta; v[j] -= delta } else { reach[j] -= delta }
                }
                column0 = column1
            } while owner[column0] != 0
            repeat {
                let column1 = way[column0]
                owner[column0] = owner[column1]
                column0 = column1
            } while column0 != 0
        }
        var assignment = [Int](repeating: -1, count: rows)
        for j in 1...columns where owner[j] > 0 { assignment[owner[j] - 1] = j - 1 }
        return assignment
    }
}
