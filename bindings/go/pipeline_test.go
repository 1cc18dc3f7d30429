package imkit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func pipelineInput(t *testing.T) (string, View) {
	const w, h = 180, 120
	data := make([]uint8, w*h*3)
	for i := range data {
		data[i] = uint8(i*11 + i/500)
	}
	img := ViewOf(data, w, h, 3)
	path := filepath.Join(t.TempDir(), "in.png")
	if err := WriteImage(path, img, nil); err != nil {
		t.Fatal(err)
	}
	return path, img
}

func pipelineOptions(t *testing.T) *PipelineOptions {
	o, err := NewPipelineOptions()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{o.SetCell(64, 64), o.SetStep(48, 48), o.SetBlend(BlendLinear), o.SetThreadSafe(true)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestMapTilesInvertsWithFeatheredSeams(t *testing.T) {
	src, img := pipelineInput(t)
	o := pipelineOptions(t)
	defer o.Close()
	out := filepath.Join(filepath.Dir(src), "inverted.png")
	invert := func(info TileInfo, in, out View) error {
		for y := 0; y < int(out.Height); y++ {
			row := out.Data[y*out.RowStride : y*out.RowStride+int(out.Width)*3]
			for i := range row {
				row[i] = 255 - row[i]
			}
		}
		return nil
	}
	done := uint64(0)
	if err := MapTiles(src, out, invert, o, func(d, total uint64) bool { done = d; return true }); err != nil {
		t.Fatal(err)
	}
	got, err := ReadImage(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	v, err := got.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	for i := range img.Data {
		if v.Data[i] != 255-img.Data[i] {
			t.Fatalf("sample %d: %d, want %d", i, v.Data[i], 255-img.Data[i])
		}
	}
	if done != 12 {
		t.Fatalf("progress ended at %d, want 12 cells", done)
	}
}

// A function that writes every byte from its input may declare it: tiles then start from
// recycled buffers, and the output is still exactly the inverted image.
func TestMapTilesWithOutputOverwritten(t *testing.T) {
	src, img := pipelineInput(t)
	o := pipelineOptions(t)
	defer o.Close()
	if err := o.SetOutputOverwritten(true); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(src), "overwritten.png")
	invert := func(info TileInfo, in, out View) error {
		for y := 0; y < int(out.Height); y++ {
			src := in.Data[y*in.RowStride : y*in.RowStride+int(in.Width)*3]
			row := out.Data[y*out.RowStride : y*out.RowStride+int(out.Width)*3]
			for i := range row {
				row[i] = 255 - src[i]
			}
		}
		return nil
	}
	if err := MapTiles(src, out, invert, o, nil); err != nil {
		t.Fatal(err)
	}
	got, err := ReadImage(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	v, err := got.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	for i := range img.Data {
		if v.Data[i] != 255-img.Data[i] {
			t.Fatalf("sample %d: %d, want %d", i, v.Data[i], 255-img.Data[i])
		}
	}
}

func TestMapTilesUpscales(t *testing.T) {
	src, _ := pipelineInput(t)
	o := pipelineOptions(t)
	defer o.Close()
	if err := o.SetScale(2); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(src), "big.png")
	up := func(info TileInfo, in, out View) error {
		if info.OutRect.Left != 2*info.Rect.Left {
			return errors.New("out rect is not scaled")
		}
		for y := 0; y < int(out.Height); y++ {
			for x := 0; x < int(out.Width); x++ {
				copy(out.Data[y*out.RowStride+3*x:][:3], in.Data[(y/2)*in.RowStride+3*(x/2):][:3])
			}
		}
		return nil
	}
	if err := MapTiles(src, out, up, o, nil); err != nil {
		t.Fatal(err)
	}
	info, err := ReadImageInfo(out)
	if err != nil || info.Width != 360 || info.Height != 240 {
		t.Fatalf("%+v %v", info, err)
	}
}

func TestMapTilesCarriesErrorsAndPanicsOut(t *testing.T) {
	src, _ := pipelineInput(t)
	o := pipelineOptions(t)
	defer o.Close()
	out := filepath.Join(filepath.Dir(src), "failed.png")
	sentinel := errors.New("the model refused")
	err := MapTiles(src, out, func(info TileInfo, in, out View) error {
		if info.Row == 1 && info.Col >= 1 {
			return sentinel
		}
		return nil
	}, o, nil)
	if !errors.Is(err, sentinel) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a failed run left its output")
	}
	// imkit errors keep their status.
	err = MapTiles(src, out, func(TileInfo, View, View) error {
		return &Error{Code: StatusUnsupported, Message: "no GPU"}
	}, o, nil)
	if !errors.Is(err, StatusUnsupported) {
		t.Fatalf("got %v", err)
	}
	// A panic comes back out as a panic in the caller.
	defer func() {
		if r := recover(); r != "boom at 0,2" {
			t.Fatalf("recovered %v", r)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("a failed run left its output")
		}
	}()
	_ = MapTiles(src, out, func(info TileInfo, in, out View) error {
		if info.Col >= 2 {
			panic("boom at " + string(rune('0'+info.Row)) + "," + string(rune('0'+info.Col)))
		}
		return nil
	}, o, nil)
	t.Fatal("MapTiles did not panic")
}
