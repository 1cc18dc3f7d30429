package imkit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPartitionFragmentStitch(t *testing.T) {
	const w, h = 64, 48
	px := make([]uint8, w*h*3)
	at := func(x, y, c int) uint8 { return px[(y*w+x)*3+c] }
	for i := range px {
		px[i] = uint8(i*11 + i/192)
	}
	o := must(NewPartitionOptions())
	defer o.Close()
	if err := o.SetCell(16, 16); err != nil {
		t.Fatal(err)
	}
	if err := o.SetStep(16, 16); err != nil {
		t.Fatal(err)
	}
	p := must(PartitionFromBuffer(ViewOf(px, w, h, 3), o))
	defer p.Close()
	rows, cols, depth, err := p.Shape()
	if err != nil || rows != 3 || cols != 4 || depth != 1 {
		t.Fatalf("Shape = %d %d %d %v", rows, cols, depth, err)
	}
	if si := must(p.Source()); si != (SourceInfo{w, h, 1, 3, U8}) {
		t.Fatalf("Source = %+v", si)
	}
	if sy, sx, err := p.Step(); err != nil || sy != 16 || sx != 16 {
		t.Fatalf("Step = %v %v %v", sy, sx, err)
	}
	if r := must(p.CellRect(1, -2)); r != (Rect{32, 16, 48, 32}) {
		t.Fatalf("CellRect = %+v", r)
	}
	if _, err := p.CellRect(3, 0); !errors.Is(err, StatusOutOfBounds) {
		t.Fatalf("CellRect(3, 0): %v", err)
	}
	cell := must(p.ReadCell(Interleaved, 1, 2))
	if len(cell) != 16*16*3 || cell[0] != at(32, 16, 0) || cell[len(cell)-1] != at(47, 31, 2) {
		t.Fatal("cell (1, 2) differs from the source")
	}
	if err := p.ReadCellInto(make([]byte, 10), Interleaved, 1, 2); !errors.Is(err, StatusBufferTooSmall) {
		t.Fatalf("short buffer: %v", err)
	}
	zero, two := int64(0), int64(2)
	r, n, err := p.Region(Slice(&zero, &two), Index(-1))
	if err != nil || r != (Rect{48, 0, 64, 32}) || n != 16*32*3 {
		t.Fatalf("Region = %+v %d %v", r, n, err)
	}
	planar := must(p.Read(Planar, Slice(&zero, &two), Index(-1)))
	if planar[0] != at(48, 0, 0) || planar[16*32] != at(48, 0, 1) {
		t.Fatal("planar read differs from the source")
	}
	one := int64(1)
	if all := must(p.Read(Interleaved, All(), Slice(nil, &one))); len(all) != 16*48*3 {
		t.Fatalf("All() rows: %d bytes", len(all))
	}
	if r0, r1, c0, c1, err := p.CellsAt(33, 17); err != nil || r0 != 1 || r1 != 2 || c0 != 2 || c1 != 3 {
		t.Fatalf("CellsAt = %d %d %d %d %v", r0, r1, c0, c1, err)
	}

	// Fragment a file with overlapping cells, stitch it back: the same pixels.
	dir := t.TempDir()
	src := filepath.Join(dir, "src.png")
	if err := WriteImage(src, ViewOf(px, w, h, 3), nil); err != nil {
		t.Fatal(err)
	}
	fo := must(NewPartitionOptions())
	defer fo.Close()
	for _, err := range []error{fo.SetCell(20, 24), fo.SetStride(0.75, 0.5), fo.SetEdge(PartitionClip, 0)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	fp := must(OpenPartition(src, fo))
	defer fp.Close()
	frag := filepath.Join(dir, "frag")
	if err := os.Mkdir(frag, 0o755); err != nil {
		t.Fatal(err)
	}
	calls := 0
	if err := fp.Fragment(frag, "", nil, func(done, total uint64) bool { calls++; return true }); err != nil || calls == 0 {
		t.Fatalf("Fragment: %v (%d calls)", err, calls)
	}
	out := filepath.Join(dir, "stitched.png")
	if err := Stitch(filepath.Join(frag, "manifest.json"), out, BlendAverage, nil, nil); err != nil {
		t.Fatal(err)
	}
	img := must(ReadImage(out))
	defer img.Close()
	if back := must(img.Pixels()); string(back.Data) != string(px) {
		t.Fatal("stitching the fragments did not give the source back")
	}
	err = Stitch(filepath.Join(frag, "manifest.json"), filepath.Join(dir, "never.png"), BlendOverwrite, nil,
		func(uint64, uint64) bool { return false })
	if !errors.Is(err, StatusCancelled) {
		t.Fatalf("cancelled stitch: %v", err)
	}
}

func TestPartitionNPYVolume(t *testing.T) {
	vol := make([]uint16, 2*8*6)
	for i := range vol {
		vol[i] = uint16(i)
	}
	npy := must(SaveArray(filepath.Join(t.TempDir(), "volume.npy"), vol, []int{2, 8, 6}, "", nil))
	o := must(NewPartitionOptions())
	defer o.Close()
	for _, err := range []error{o.SetVolume(true), o.SetCell(4, 3), o.SetStep(4, 3), o.SetDepth(1, 1)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	p := must(OpenPartition(npy, o))
	defer p.Close()
	if si := must(p.Source()); si != (SourceInfo{6, 8, 2, 1, U16}) {
		t.Fatalf("Source = %+v", si)
	}
	data := must(p.Read(Interleaved, Index(1), Index(0), Index(0)))
	// Samples 0 and 3 of slice 1 (little-endian uint16 below 256): 48 and 54.
	if len(data) != 4*3*2 || data[0] != 48 || data[6] != 54 {
		t.Fatalf("volume cell: %v", data)
	}
}
