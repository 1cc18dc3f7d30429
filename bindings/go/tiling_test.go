package imkit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func testImage() View {
	const w, h = 96, 64
	data := make([]uint8, w*h*3)
	for i := range data {
		data[i] = uint8(i*7 + i/300)
	}
	return ViewOf(data, w, h, 3)
}

func TestTilesInMemory(t *testing.T) {
	img := testImage()
	spec := DefaultTileSpec()
	spec.X, spec.Y, spec.Corner, spec.Width, spec.Height = 95, 63, BottomRight, 16, 8
	w, h, r, err := PlaceTile(spec, img.Width, img.Height)
	if err != nil || w != 16 || h != 8 || r != (Rect{80, 56, 96, 64}) {
		t.Fatalf("PlaceTile: %d %d %+v %v", w, h, r, err)
	}
	tile, _, err := ExtractTile(img, spec)
	if err != nil {
		t.Fatal(err)
	}
	row := func(v View, y, x0, n uint64) []byte {
		off := (y*v.Width + x0) * 3
		return v.Data[off : off+n*3]
	}
	if string(row(tile, 0, 0, 16)) != string(row(img, 56, 80, 16)) {
		t.Fatal("tile row 0 differs from the image")
	}
	for i := range tile.Data {
		tile.Data[i] = 255 - tile.Data[i]
	}
	before := append([]byte(nil), img.Data...)
	if _, err := PasteTile(img, tile, spec); err != nil {
		t.Fatal(err)
	}
	for y := uint64(0); y < 64; y++ {
		for x := uint64(0); x < 96; x++ {
			inside := x >= 80 && y >= 56
			for c := uint64(0); c < 3; c++ {
				i := (y*96+x)*3 + c
				want := before[i]
				if inside {
					want = 255 - before[i]
				}
				if img.Data[i] != want {
					t.Fatalf("pixel (%d,%d,%d) = %d, want %d", x, y, c, img.Data[i], want)
				}
			}
		}
	}
	spec.X = 200
	if _, _, err := ExtractTile(img, spec); !errors.Is(err, StatusOutOfBounds) {
		t.Fatalf("outside: %v", err)
	}
	spec.X = 95
	wrong := ViewOf(make([]uint16, 16*8*3), 16, 8, 3)
	if _, err := PasteTile(img, wrong, spec); !errors.Is(err, StatusMismatch) {
		t.Fatalf("dtype mismatch: %v", err)
	}
}

func TestTileFilesWithProgress(t *testing.T) {
	dir := t.TempDir()
	base, tile, out := filepath.Join(dir, "base.png"), filepath.Join(dir, "tile.png"), filepath.Join(dir, "out.png")
	opts, err := NewWriteOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Close()
	if err := opts.SetPNGCompression(1); err != nil {
		t.Fatal(err)
	}
	if err := WriteImage(base, testImage(), opts); err != nil {
		t.Fatal(err)
	}
	spec := DefaultTileSpec()
	spec.X, spec.Y, spec.Corner, spec.Width, spec.Height = 48, 32, Center, 20, 10
	calls := 0
	r, err := ExtractTileFile(base, tile, spec, nil, func(done, total uint64) bool {
		calls++
		if done > total {
			t.Errorf("done %d > total %d", done, total)
		}
		return true
	})
	if err != nil || calls == 0 || r != (Rect{38, 27, 58, 37}) {
		t.Fatalf("ExtractTileFile: %+v, %d calls, %v", r, calls, err)
	}
	spec.Width, spec.Height = 0, 0
	if _, err := PasteTileFile(base, tile, out, spec, opts, nil); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(base)
	b, _ := os.ReadFile(out)
	img1, _ := ReadImage(base)
	img2, _ := ReadImage(out)
	defer img1.Close()
	defer img2.Close()
	p1, _ := img1.Pixels()
	p2, _ := img2.Pixels()
	if len(a) == 0 || len(b) == 0 || string(p1.Data) != string(p2.Data) {
		t.Fatal("pasting a tile back where it came from changed the image")
	}

	// Cancelling: StatusCancelled and no file.
	cancelled := filepath.Join(dir, "cancelled.png")
	spec.Width, spec.Height = 20, 10
	_, err = ExtractTileFile(base, cancelled, spec, nil, func(uint64, uint64) bool { return false })
	if !errors.Is(err, StatusCancelled) {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := os.Stat(cancelled); !os.IsNotExist(err) {
		t.Fatal("a cancelled extraction wrote its output")
	}

	// A panic in the callback never crosses imkit: it comes back out in this goroutine.
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want boom", r)
			}
		}()
		_, _ = ExtractTileFile(base, cancelled, spec, nil, func(uint64, uint64) bool { panic("boom") })
		t.Fatal("the panic was lost")
	}()

	// Closed options are refused, not used.
	closed, _ := NewWriteOptions()
	closed.Close()
	if _, err := ExtractTileFile(base, tile, spec, closed, nil); !errors.Is(err, StatusNullArg) {
		t.Fatalf("closed options: %v", err)
	}
}
