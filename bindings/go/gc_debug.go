//go:build imkit_debug

package imkit

import "runtime"

// maybeGC forces a collection before each C call in imkit_debug builds, so a missing
// runtime.KeepAlive shows up as a crash in tests instead of a rare bug in production.
func maybeGC() { runtime.GC() }
