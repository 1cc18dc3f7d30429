package imkit

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// makeIID writes a small file: key 0 and key 1 share pixel (1, 2); key 2 is apart.
func makeIID(t *testing.T, path string) {
	t.Helper()
	w, err := NewIIDWriter()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	add := func(addr, dom string, box BBox, mask []byte, f MaskFormat) uint32 {
		k, err := w.Add([]byte(addr), []byte(dom), box, mask, f)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := add("a", "d1", BBox{0, 0, 2, 3}, []byte{1, 1, 0, 0, 0, 1}, MaskBytes)
	k1 := add("b", "", BBox{1, 2, 3, 4}, []byte{1, 1, 1, 1}, MaskBytes)
	k2 := add("x\x00y", "d1", BBox{10, 10, 11, 11}, []byte{0x80}, MaskPacked)
	if k0 != 0 || k1 != 1 || k2 != 2 {
		t.Fatalf("keys %d %d %d", k0, k1, k2)
	}
	for _, g := range []struct {
		name string
		key  uint32
	}{{"g1", 0}, {"g1", 2}, {"g2", 1}} {
		if err := w.AddToGroup(g.name, g.key); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetMetaJSON(`{"k": 1}`); err != nil {
		t.Fatal(err)
	}
	if err := w.SetMetaJSON(`{nope`); !errors.Is(err, StatusInvalidArg) {
		t.Fatalf("bad meta: %v", err)
	}
	if _, err := w.Add([]byte("c"), nil, BBox{0, 0, 1, 1}, []byte{1, 1}, MaskBytes); !errors.Is(err, StatusMismatch) {
		t.Fatalf("wrong mask size: %v", err)
	}
	if n, err := w.Count(); err != nil || n != 3 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	if err := w.Save(path); err != nil {
		t.Fatal(err)
	}
}

// must returns v, or panics (failing the test with a stack trace) on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestIIDWriteAndQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "made.iid")
	makeIID(t, path)
	f := must(OpenIID(path))
	defer f.Close()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	eq("Count", must(f.Count()), 3)
	eq("Address(2)", must(f.Address(2)), []byte("x\x00y"))
	eq("Domain(1)", must(f.Domain(1)), []byte{})
	eq("SegmentInfo(0)", must(f.SegmentInfo(0)), SegmentInfo{BBox{0, 0, 2, 3}, 3, 1, 6, 1})
	box, area, err := f.RegionInfo(0, 0)
	if err != nil || area != 3 || box.MaxR != 2 {
		t.Fatalf("RegionInfo: %+v %d %v", box, area, err)
	}
	if _, _, err := f.RegionInfo(0, 1); !errors.Is(err, StatusOutOfBounds) {
		t.Fatalf("RegionInfo(0, 1): %v", err)
	}
	eq("Mask(0)", must(f.Mask(0, false)), []byte{1, 1, 0, 0, 0, 1})
	eq("Mask(0, packed)", must(f.Mask(0, true)), []byte{0xC4})
	if _, err := f.MaskInto(0, false, make([]byte, 2)); !errors.Is(err, StatusBufferTooSmall) {
		t.Fatalf("short mask buffer: %v", err)
	}
	eq("MetaJSON", must(f.MetaJSON()), `{"k": 1}`)
	eq("Groups", must(f.Groups()), []string{"g1", "g2"})
	eq("FetchAll", must(f.FetchAll(true, true)), []uint32{0, 1, 2})
	eq("FetchKeys", must(f.FetchKeys([]uint64{2, 0, 2}, false, false)), []uint32{0, 2})
	eq("FetchGroups", must(f.FetchGroups([]string{"g1"}, false, false)), []uint32{0, 2})
	if _, err := f.FetchKeys([]uint64{7}, false, false); !errors.Is(err, StatusOutOfBounds) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := f.FetchGroups([]string{"nope"}, false, false); !errors.Is(err, StatusInvalidArg) {
		t.Fatalf("unknown group: %v", err)
	}
	all := [][]byte{[]byte("a"), []byte("b"), []byte("x\x00y")}
	eq("LookFor(b)", must(f.LookFor([][]byte{[]byte("b")}, nil, nil)), []uint32{1})
	eq("LookFor(d1)", must(f.LookFor(all, [][]byte{[]byte("d1")}, nil)), []uint32{0, 2})
	eq("LookFor(g2)", must(f.LookFor(all, nil, []string{"g2"})), []uint32{1})
	eq("Filter(d1)", must(f.Filter(nil, [][]byte{[]byte("d1")}, nil)), []uint32{0, 2})
	eq("Filter(area>=4)", must(f.Filter(nil, nil, &AreaRange{Min: 4, Max: ^uint64(0)})), []uint32{1})
	eq("Region", must(f.Region(BBox{0, 0, 2, 2})), []uint32{0})
	eq("At(1,2)", must(f.At(1, 2)), []uint32{0, 1})
	eq("len(At(5,5))", len(must(f.At(5, 5))), 0)
	eq("AtCompat(3,2)", must(f.AtCompat(3, 2)), []uint32{0, 1})

	g := must(f.OverlapGraph(nil))
	defer g.Close()
	eq("Edges", must(g.Edges()), []IIDEdge{{0, 1, 1}})
	nodes := must(g.Nodes())
	if len(nodes) < 2 || nodes[0] != 0 || nodes[1] != 1 {
		t.Fatalf("Nodes = %v", nodes)
	}
	sub := must(f.OverlapGraph([]uint64{0, 2}))
	eq("len(Edges({0,2}))", len(must(sub.Edges())), 0)
	sub.Close()
	sub.Close()

	// From memory, then extended through a writer seeded from it.
	data := must(os.ReadFile(path))
	mem := must(OpenIIDBuffer(data))
	defer mem.Close()
	w := must(IIDWriterFromFile(mem))
	defer w.Close()
	eq("added key", must(w.Add([]byte("d"), nil, BBox{20, 20, 21, 22}, []byte{1, 1}, MaskBytes)), uint32(3))
	more := filepath.Join(t.TempDir(), "more.iid")
	if err := w.Save(more); err != nil {
		t.Fatal(err)
	}
	m := must(OpenIID(more))
	eq("Count(more)", must(m.Count()), 4)
	m.Close()
	if _, err := m.Count(); !errors.Is(err, StatusNullArg) {
		t.Fatalf("Count after Close: %v", err)
	}
}

func TestIIDReferenceVectorsAndDamage(t *testing.T) {
	f := must(OpenIID(filepath.Join(fixtures, "iid", "overlapping.iid")))
	defer f.Close()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := must(f.Count()); n != 16 {
		t.Fatalf("Count = %d", n)
	}
	// One file serves many goroutines at once.
	want := must(f.At(10, 10))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := f.At(10, 10)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("concurrent At = %v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	bad := filepath.Join(fixtures, "iid", "bad", "meta_bad_json.iid")
	_, err := OpenIID(bad)
	var e *Error
	if !errors.As(err, &e) || e.Code != StatusFormat || e.Message == "" {
		t.Fatalf("damaged file: %v", err)
	}
}
