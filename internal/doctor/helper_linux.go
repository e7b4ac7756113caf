package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// HelperEnv is the environment variable that makes a re-executed vigil
// (or test binary) act as a probe helper; its value names the helper.
const HelperEnv = "VIGIL_DOCTOR_HELPER"

// helperTimeout bounds a helper's whole run; the parent kills it after.
const helperTimeout = 10 * time.Second

// HelperMain runs the probe helper named by $VIGIL_DOCTOR_HELPER, writing
// its findings to stdout, and returns the exit code and true. When the
// variable is unset it does nothing and returns false. vigil's cli.Run
// and the TestMain of every test binary that probes call it first.
func HelperMain(stdout io.Writer) (int, bool) {
	switch os.Getenv(HelperEnv) {
	case "":
		return 0, false
	case "seccomp":
		if err := json.NewEncoder(stdout).Encode(seccompSteps()); err != nil {
			return 1, true
		}
		return 0, true
	default:
		fmt.Fprintf(stdout, "unknown %s=%q\n", HelperEnv, os.Getenv(HelperEnv))
		return 2, true
	}
}

// runHelper re-executes the running program as helper name and returns
// what it wrote to stdout.
func runHelper(ctx context.Context, name string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding own executable: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), HelperEnv+"="+name)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("running %s helper: %w (stderr: %q)", name, err, errOut.String())
	}
	return out.Bytes(), nil
}

// onOwnThread runs f in a new goroutine locked to an OS thread other than
// the main thread; the thread ends when f returns, because the goroutine
// exits still locked. The main thread cannot end that way, so a goroutine
// that lands on it keeps the main thread and hands f to a fresh one.
func onOwnThread(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			onOwnThread(f)
			select {} // hold the main thread so the new goroutine cannot take it
		}
		f()
	}()
}

// stepResult is one probe outcome as a helper reports it: empty Text
// means success; Missing says it matched ErrNotSupported.
type stepResult struct {
	Text    string `json:"text,omitempty"`
	Missing bool   `json:"missing,omitempty"`
}

func stepOf(err error) stepResult {
	if err == nil {
		return stepResult{}
	}
	return stepResult{Text: err.Error(), Missing: errors.Is(err, ErrNotSupported)}
}

// err turns a helper's step back into an error with the package contract.
func (s stepResult) err() error {
	switch {
	case s.Text == "":
		return nil
	case s.Missing:
		return &missingError{op: s.Text}
	default:
		return errors.New(s.Text)
	}
}
