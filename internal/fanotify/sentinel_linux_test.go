package fanotify_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/fanotify"
)

// TestErrNotSupportedIsOneSentinel checks that an error fanotify gives for
// a missing feature matches doctor's sentinel and cilium/ebpf's, which
// callers test against, and that other errors match none of them.
func TestErrNotSupportedIsOneSentinel(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		err     error
		missing bool
		errno   unix.Errno // still matched through the wrapping
	}{
		{"ENOSYS", fanotify.Convert(unix.ENOSYS), true, unix.ENOSYS},
		{"EINVAL", fanotify.Convert(unix.EINVAL), true, unix.EINVAL},
		{"EOPNOTSUPP wrapped by a caller", fmt.Errorf("starting engine: %w", fanotify.Convert(unix.EOPNOTSUPP)), true, unix.EOPNOTSUPP},
		{"the sentinel itself", fmt.Errorf("FAN_DENY_ERRNO: %w", fanotify.ErrNotSupported), true, 0},
		{"EPERM says could not tell", fanotify.Convert(unix.EPERM), false, unix.EPERM},
		{"EMFILE", fanotify.Convert(unix.EMFILE), false, unix.EMFILE},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			for name, target := range map[string]error{
				"fanotify.ErrNotSupported": fanotify.ErrNotSupported,
				"doctor.ErrNotSupported":   doctor.ErrNotSupported,
				"ebpf.ErrNotSupported":     ebpf.ErrNotSupported,
			} {
				if got := errors.Is(tc.err, target); got != tc.missing {
					t.Errorf("errors.Is(%v, %s) = %v, want %v", tc.err, name, got, tc.missing)
				}
			}
			if tc.errno != 0 && !errors.Is(tc.err, tc.errno) {
				t.Errorf("%v lost its errno %v", tc.err, tc.errno)
			}
		})
	}
}
