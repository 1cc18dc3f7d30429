//go:build !imkit_system

package imkit

// Static linking (the default): build the library first with `cargo build --release` in
// the repository root. Build with `-tags imkit_system` to use an installed imkit found
// through pkg-config instead.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libimkit.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
import "C"
