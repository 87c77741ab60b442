import CFuzzDriver

// SwiftPM links an executable's main to <module>_main, so libFuzzer's driver starts here.
@_cdecl("FuzzStoredEntry_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzzStoredEntry($0, size) } ?? 0 }
}
