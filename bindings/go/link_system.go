//go:build imkit_system

package imkit

// Linking against an installed imkit (scripts/install.sh writes imkit.pc): selected with
// `-tags imkit_system`; set PKG_CONFIG_PATH if it is not installed in a standard prefix.

// #cgo pkg-config: imkit
import "C"
