package weights

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadSafetensorsBoundedRead: an endless input (/dev/zero) or a header
// length beyond the file is refused after reading at most the header, not by
// reading until memory runs out.
func TestReadSafetensorsBoundedRead(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big-header.safetensors")
	// Header length 50 MB (under MaxHeaderLen) in a 16-byte file.
	if err := os.WriteFile(big, []byte{0, 0, 0x20, 0x03, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "not a regular file"},
		{big, "header length 52428800"},
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadSafetensors(tc.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("%s: err = %v, want one naming the file and %q", tc.path, err, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading after 5 s", tc.path)
		}
	}
}
