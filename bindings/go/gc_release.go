//go:build !imkit_debug

package imkit

// maybeGC does nothing outside imkit_debug builds.
func maybeGC() {}
