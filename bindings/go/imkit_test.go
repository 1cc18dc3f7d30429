package imkit

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures is the repository's tests/fixtures directory.
var fixtures = filepath.Join("..", "..", "tests", "fixtures")

func TestLibrary(t *testing.T) {
	if LibraryABIVersion() != ABIVersion {
		t.Fatalf("ABI %d, binding %d", LibraryABIVersion(), ABIVersion)
	}
	if Version() == 0 || VersionString() == "" {
		t.Fatalf("version %d %q", Version(), VersionString())
	}
	if err := SetNumThreads(2); err != nil {
		t.Fatal(err)
	}
	if n, err := NumThreads(); err != nil || n != 2 {
		t.Fatalf("NumThreads = %d, %v", n, err)
	}
	if err := SetNumThreads(0); err != nil {
		t.Fatal(err)
	}
	if err := SetNumThreads(-1); !errors.Is(err, StatusInvalidArg) {
		t.Fatalf("negative threads: %v", err)
	}
	if !strings.HasPrefix(StatusIO.String(), "IMKIT_STATUS_IO:") {
		t.Fatalf("StatusIO.String() = %q", StatusIO.String())
	}
	if !strings.HasPrefix(Status(12345).String(), "IMKIT_STATUS_UNKNOWN") {
		t.Fatalf("unknown status: %q", Status(12345).String())
	}
}

func TestABIMismatchIsAClearError(t *testing.T) {
	if err := checkABI(ABIVersion); err != nil {
		t.Fatal(err)
	}
	err := checkABI(ABIVersion + 1)
	var e *Error
	if !errors.As(err, &e) || e.Code != StatusUnsupported || !strings.Contains(e.Message, "ABI version 2") {
		t.Fatalf("mismatch error: %v", err)
	}
}

func TestErrorsCarryCodeAndMessage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.png")
	_, err := ReadImage(missing)
	var e *Error
	if !errors.As(err, &e) || e.Code != StatusIO || !strings.Contains(e.Message, "missing.png") {
		t.Fatalf("ReadImage(missing): %v", err)
	}
	if !errors.Is(err, StatusIO) || errors.Is(err, StatusFormat) || !errors.Is(err, &Error{Code: StatusIO}) {
		t.Fatal("errors.Is does not compare codes")
	}
	if !strings.HasPrefix(err.Error(), "IMKIT_STATUS_IO:") {
		t.Fatalf("Error() = %q", err.Error())
	}
	o, err := NewWriteOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.SetPNGCompression(42); !errors.Is(err, StatusInvalidArg) {
		t.Fatalf("compression 42: %v", err)
	}
}

func TestImagesAndCloseIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "small.png")
	data := make([]uint16, 8*4*2)
	for i := range data {
		data[i] = uint16(i * 1000)
	}
	v := ViewOf(data, 8, 4, 2)
	if err := WriteImage(path, v, nil); err != nil {
		t.Fatal(err)
	}
	info, err := ReadImageInfo(path)
	if err != nil || info != (ImageInfo{8, 4, 2, U16, PNG}) {
		t.Fatalf("info %+v, %v", info, err)
	}
	img, err := ReadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	px, err := img.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	if string(px.Data) != string(v.Data) || px.Width != 8 || px.DType != U16 {
		t.Fatal("pixels differ after a PNG round trip")
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	if err := img.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := img.Pixels(); !errors.Is(err, StatusNullArg) {
		t.Fatalf("Pixels after Close: %v", err)
	}
	// A view claiming more rows than its data holds never reaches C.
	short := v
	short.Height = 5
	if err := WriteImage(path, short, nil); !errors.Is(err, StatusBufferTooSmall) {
		t.Fatalf("short data: %v", err)
	}
}
