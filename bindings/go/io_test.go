package imkit

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestSaveLoadWithMetadata(t *testing.T) {
	dir := t.TempDir()
	px := make([]uint8, 16*8*3)
	for i := range px {
		px[i] = uint8(i * 7)
	}
	v := ViewOf(px, 16, 8, 3)
	written := must(Save(filepath.Join(dir, "frame"), v, `{"exposure": 0.01}`, nil))
	if written != filepath.Join(dir, "frame.png") {
		t.Fatalf("written %q", written)
	}
	img, meta, err := Load(written)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if !strings.Contains(meta, "exposure") {
		t.Fatalf("metadata %q", meta)
	}
	if shape := must(img.Shape()); !reflect.DeepEqual(shape, []int{8, 16, 3}) {
		t.Fatalf("shape %v", shape)
	}
	data, dtype, err := img.Data()
	if err != nil || dtype != U8 || string(data) != string(v.Data) {
		t.Fatalf("data differs (%v, %v)", dtype, err)
	}
	if err := MetadataSave(written, `{"lens": "50mm"}`, nil); err != nil {
		t.Fatal(err)
	}
	if m := must(MetadataLoad(written)); !strings.Contains(m, "50mm") {
		t.Fatalf("MetadataLoad = %q", m)
	}
	if _, err := Save(filepath.Join(dir, "bad.png"), v, `[not json`, nil); !errors.Is(err, StatusInvalidArg) {
		t.Fatalf("bad metadata: %v", err)
	}
	npy := must(SaveArray(filepath.Join(dir, "values"), []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, []int{2, 3}, "", nil))
	arr, _, err := Load(npy)
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Close()
	if shape := must(arr.Shape()); !reflect.DeepEqual(shape, []int{2, 3}) {
		t.Fatalf("array shape %v", shape)
	}
	if _, dt, _ := arr.Data(); dt != F64 {
		t.Fatalf("array dtype %v", dt)
	}
}

func TestListsAndDirectories(t *testing.T) {
	dir := t.TempDir()
	g1 := ViewOf(make([]uint16, 4*2), 4, 2, 1)
	g2 := ViewOf(make([]uint16, 5*3), 5, 3, 1)
	g2.Data[0] = 2
	seq := filepath.Join(dir, "seq")
	if err := SaveDir(seq, []View{g1, g2}, []string{`{"i": 1}`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := SaveDir(seq, []View{g1}, nil, nil); !errors.Is(err, StatusInvalidArg) {
		t.Fatalf("existing numbered files: %v", err)
	}
	o := must(NewSaveOptions())
	defer o.Close()
	w := must(NewWriteOptions())
	defer w.Close()
	if err := w.SetEXRCompression(EXRPIZ); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{o.SetOverwrite(true), o.SetWriteOptions(w), o.SetPythonTokens(true)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := SaveDir(seq, []View{g1, g2}, []string{`{"i": 1}`, `{"i": 2}`}, o); err != nil {
		t.Fatal(err)
	}
	l := must(LoadDir(seq))
	defer l.Close()
	if n := must(l.Len()); n != 2 {
		t.Fatalf("Len = %d", n)
	}
	e := must(l.Entry(1))
	if !strings.Contains(e.Metadata, "2") || !reflect.DeepEqual(e.Shape, []int{3, 5}) || e.DType != U16 || e.Data[0] != 2 {
		t.Fatalf("entry 1: %+v", e)
	}
	if _, err := l.Entry(2); !errors.Is(err, StatusOutOfBounds) {
		t.Fatalf("Entry(2): %v", err)
	}
	paths := []string{filepath.Join(dir, "l0.png"), filepath.Join(dir, "l1.png")}
	if err := SaveList(paths, []View{g1, g2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	ll := must(LoadList(paths))
	if n := must(ll.Len()); n != 2 {
		t.Fatalf("LoadList Len = %d", n)
	}
	ll.Close()
	ll.Close()
}

func TestSaveQueue(t *testing.T) {
	dir := t.TempDir()
	qo := must(NewSaveQueueOptions())
	defer qo.Close()
	for _, err := range []error{qo.SetThreads(2), qo.SetMaxPendingJobs(4), qo.SetMaxPendingBytes(1 << 20)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	q := must(NewSaveQueue(qo))
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(base int) {
			defer wg.Done()
			frame := ViewOf(make([]uint8, 16*8*3), 16, 8, 3)
			for i := 0; i < 5; i++ {
				frame.Data[0] = uint8(base + i) // the queue copied the previous frame
				if _, err := q.Push(filepath.Join(dir, "q"+strconv.Itoa(base+i)), frame, `{"frame": `+strconv.Itoa(base+i)+`}`); err != nil {
					t.Error(err)
				}
			}
		}(g * 10)
	}
	wg.Wait()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := must(q.Push(filepath.Join(blocker, "x.png"), ViewOf(make([]uint8, 4), 2, 2, 1), ""))
	if err := q.Flush(); !errors.Is(err, StatusIO) {
		t.Fatalf("Flush: %v", err)
	}
	je, ok, err := q.NextError()
	if err != nil || !ok || je.Job != bad || !strings.Contains(je.Message, "x.png") {
		t.Fatalf("NextError: %+v %v %v", je, ok, err)
	}
	if _, ok, err := q.NextError(); ok || err != nil {
		t.Fatalf("a second error: %v %v", ok, err)
	}
	if job, ok, err := q.TryPush(filepath.Join(dir, "q99"), ViewOf(make([]uint8, 4), 2, 2, 1), ""); err != nil || (ok && job <= bad) {
		t.Fatalf("TryPush: %d %v %v", job, ok, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := q.Push(filepath.Join(dir, "late"), ViewOf(make([]uint8, 4), 2, 2, 1), ""); !errors.Is(err, StatusNullArg) {
		t.Fatalf("Push after Close: %v", err)
	}
	img, meta, err := Load(filepath.Join(dir, "q13.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	data, _, _ := img.Data()
	if data[0] != 13 || !strings.Contains(meta, "13") {
		t.Fatalf("q13: first sample %d, metadata %q", data[0], meta)
	}
}
