import Foundation
import Report

extension HTMLPage {
    /// Writes the page as `name` in `folder` and prints where, as the commands' last line.
    func writeReport(named name: String, in folder: String) throws {
        let path = (folder as NSString).appendingPathComponent(name)
        try write(to: path)
        print("report: \(path)")
    }
}
