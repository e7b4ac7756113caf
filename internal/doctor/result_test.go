package doctor

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
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

func TestParseCnProcAck(t *testing.T) {
	// A PROC_EVENT_NONE ack captured on Linux 6.18 for a LISTEN with ack 7:
	// the kernel put its own counter (0xec) in seq and 8 in ack.
	msg := unhex(t, "4c00000003000000ec000000000000000100000001000000ec00000008000000"+
		"280000000000000000000000890a81bd6400000000000000000000000000000000000000000000000000000000")
	if errno, ok := parseCnProcAck(msg, 8); !ok || errno != 0 {
		t.Errorf("ack 8: got (%d, %t), want (0, true)", errno, ok)
	}
	if _, ok := parseCnProcAck(msg, 9); ok {
		t.Error("ack 9 matched a message acking 8")
	}
	// A fork event (what=1) is not an ack.
	fork := unhex(t, "4c00000003000000f7000000000000000100000001000000f700000000000000"+
		"280000000100000001000000c53c82bd640000001530000015300000b1300000b13000000000000000000000")
	if _, ok := parseCnProcAck(fork, 0); ok {
		t.Error("fork event taken for an ack")
	}
	// The request carries the op after the 20-byte cn_msg.
	req := cnProcMsg(1, 7, procCnMcastListen)
	if len(req) != 40 || req[36] != procCnMcastListen || req[28] != 7 {
		t.Errorf("request %x", req)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, len(s)/2)
	for i := range b {
		if _, err := fmt.Sscanf(s[2*i:2*i+2], "%02x", &b[i]); err != nil {
			t.Fatal(err)
		}
	}
	return b
}
