package imkit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// numpySlice returns np.load(path)[expr].tobytes() from $IMKIT_PYTHON (default python3), or
// skips the test loudly when numpy is not there.
func numpySlice(t *testing.T, path, expr string) []byte {
	py := os.Getenv("IMKIT_PYTHON")
	if py == "" {
		py = "python3"
	}
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("SKIPPED (python lacks numpy): volume reads against NumPy slicing")
	}
	code := "import numpy as np, sys; a = np.load(sys.argv[1]); " +
		"sys.stdout.buffer.write(np.ascontiguousarray(a[" + expr + "]).tobytes())"
	out, err := exec.Command(py, "-c", code, path).Output()
	if err != nil {
		t.Fatalf("numpy a[%s]: %v", expr, err)
	}
	return out
}

// 3-D selections read into caller buffers in (d, h, w, c) C order, as NumPy slices them.
func TestPartitionVolumeReadsMatchNumPy(t *testing.T) {
	const d, h, w, c = 7, 20, 30, 3
	vol := make([]uint16, d*h*w*c)
	for i := range vol {
		vol[i] = uint16(i * 2654435761 % 65521)
	}
	npy := must(SaveArray(filepath.Join(t.TempDir(), "vol.npy"), vol, []int{d, h, w, c}, "", nil))
	o := must(NewPartitionOptions())
	defer o.Close()
	for _, err := range []error{o.SetCell(8, 10), o.SetStep(8, 10), o.SetDepth(2, 2)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	p := must(OpenPartition(npy, o))
	defer p.Close()
	i := func(v int64) *int64 { return &v }
	cases := []struct {
		keys  []AxisKey
		numpy string
	}{
		{[]AxisKey{Index(1), Index(0), Index(0)}, "2:4, 0:8, 0:10"},
		{[]AxisKey{Slice(i(1), i(-1)), All(), Index(-1)}, "2:6, :, 20:30"},
		{[]AxisKey{Index(-1), Slice(nil, i(2)), Slice(i(1), nil)}, "6:7, 0:16, 10:30"},
		{[]AxisKey{All(), Index(-2)}, ":, 8:16, :"},
	}
	for _, tc := range cases {
		_, n, err := p.Region(tc.keys...)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, n)
		if err := p.ReadInto(buf, Interleaved, tc.keys...); err != nil {
			t.Fatal(err)
		}
		if want := numpySlice(t, npy, tc.numpy); !bytes.Equal(buf, want) {
			t.Fatalf("a[%s]: %d bytes read differ from NumPy's %d", tc.numpy, len(buf), len(want))
		}
	}
}
