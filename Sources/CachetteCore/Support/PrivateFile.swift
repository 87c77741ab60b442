import Foundation

/// Files that hold answers and usage are the user's alone: the cache database (and its
/// WAL and shared-memory files, which SQLite creates with the database's mode), its
/// folder, and exports. Created 0600 (folders 0700); an existing file or folder keeps
/// the mode it has, never widened.
package enum PrivateFile {
    /// Creates `path` empty, 0600, unless it exists.
    package static func createIfMissing(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            close(fd)
        } else if errno != EEXIST {
            throw Failure(path: path, errno: errno)
        }
    }

    /// Creates the folder `path` and any missing parents, each 0700.
    public static func createDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try createDirectory(parent) }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw Failure(path: path, errno: errno) }
    }

    /// Why a file or folder could not be made, as one line: the path and the system's reason.
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        init(path: String, errno: Int32) {
            description = "cannot create \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// `path` opened for writing from its start: created 0600, or emptied in place, so
    /// an existing file keeps its mode (a write-and-rename would reset it).
    package static func truncating(_ path: String) -> FileHandle? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        return fd >= 0 ? FileHandle(fileDescriptor: fd, closeOnDealloc: true) : nil
    }
}
