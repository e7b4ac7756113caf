package doctor

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/fanotify"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		err    error
		status Status
		text   string
	}{
		{"nil is supported", nil, Yes, ""},
		{"kernel refusal is missing", fmt.Errorf("load program: %w", unix.EPERM), No, "EPERM loading x"},
		{"ENOTSUPP is missing", unix.Errno(524), No, "ENOTSUPP loading x"},
		{"cilium's sentinel is missing", fmt.Errorf("wrap: %w", ErrNotSupported), No, "loading x: wrap: not supported"},
		{"other errors could not tell", errors.New("boom"), Unknown, "could not tell: loading x: boom"},
		{"EBUSY could not tell", unix.EBUSY, Unknown, "could not tell: loading x: device or resource busy"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.status == No && !privileged() && errors.Is(tc.err, unix.EPERM) {
				t.Skip("EPERM without privilege means could not tell")
			}
			st, reason := verdict(judge("loading x", tc.err))
			if st != tc.status {
				t.Errorf("status %s, want %s (reason %q)", st, tc.status, reason)
			}
			if tc.status != Yes && reason != tc.text {
				t.Errorf("reason %q, want %q", reason, tc.text)
			}
		})
	}
}

func TestParseLockdown(t *testing.T) {
	for in, want := range map[string]string{
		"[none] integrity confidentiality\n": "none",
		"none [integrity] confidentiality\n": "integrity",
		"none integrity [confidentiality]":   "confidentiality",
	} {
		if got := parseLockdown(in); got != want {
			t.Errorf("parseLockdown(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFanotifyMissingIsNo: the fanotify-deny-errno row runs
// fanotify.ProbeDenyErrno directly, so fanotify's "kernel lacks it" must be
// this package's sentinel for the row to say no rather than could not tell.
func TestFanotifyMissingIsNo(t *testing.T) {
	if st, reason := verdict(fmt.Errorf("FAN_DENY_ERRNO: %w", fanotify.ErrNotSupported)); st != No {
		t.Errorf("status %s (%q), want %s", st, reason, No)
	}
}
