package imkit

// The tile-function trampoline. This file holds the //export, so its preamble may only declare.

// #include "imkit.h"
import "C"

import "unsafe"

//export imkitGoTile
func imkitGoTile(userData unsafe.Pointer, info *C.imkit_tile_info, in, out *C.imkit_image_view) C.int32_t {
	return runTile(userData, info, in, out)
}
