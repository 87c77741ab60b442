import Foundation

/// A module's resource bundle (`Cachette_<Module>.resources`), found without SwiftPM's
/// generated `Bundle.module`, which kills the process when the bundle is not where the
/// build left it (a binary copied without its resources). Missing, it is nil, and what
/// needs it answers an error that says so.
package enum ResourceBundle {
    package static func named(_ module: String) -> Bundle? {
        let name = "Cachette_\(module).resources"
        // An install first (`make install`: `bin/cachette` beside `share/cachette/`), then
        // the build tree: the executable's folder, its links resolved.
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let folder = executable.deletingLastPathComponent()
        let folders = [
            folder.deletingLastPathComponent().appendingPathComponent("share/cachette"), Bundle.main.bundleURL, folder,
        ]
        for folder in folders {
            let path = folder.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue, let bundle = Bundle(path: path) {
                return bundle
            }
        }
        return nil
    }

    /// The URL of a resource in `module`'s bundle, or nil.
    package static func url(_ module: String, _ name: String, _ ext: String, subdirectory: String? = nil) -> URL? {
        named(module)?.url(forResource: name, withExtension: ext, subdirectory: subdirectory)
    }
}
