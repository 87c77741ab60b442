import ArgumentParser
import Foundation

/// A command's input: a file, or standard input for "-".
enum InputFile {
    /// The bytes, or exit 1 after one line on stderr saying why not.
    static func read(_ file: String) throws -> Data {
        do {
            return file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            fail("cannot read \(file): \(error.localizedDescription)")
        }
    }

    static func fail(_ problem: String) -> Never {
        FileHandle.standardError.write(Data("cachette: \(problem)\n".utf8))
        Foundation.exit(1)
    }
}
