package monitor

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestWatchHUP(t *testing.T) {
	called := make(chan struct{}, 4)
	w := watchHUP(func() { called <- struct{}{} })
	for range 2 {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-called:
		case <-time.After(5 * time.Second):
			t.Fatal("SIGHUP did not call the reload function")
		}
	}
	w.stop() // returns only once the goroutine has ended
}

func TestSDNotify(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v", err)
	}
	if s := reloadingState(); len(s) < len("RELOADING=1\nMONOTONIC_USEC=1") {
		t.Fatalf("reloading state %q", s)
	}
}
