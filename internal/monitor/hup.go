package monitor

import (
	"os"
	"os/signal"
	"syscall"
)

// hupWatcher calls a function on every SIGHUP until stopped. While it
// runs, SIGHUP no longer ends the process (its default action).
type hupWatcher struct {
	ch   chan os.Signal
	quit chan struct{}
	done chan struct{}
}

// watchHUP starts the watcher goroutine; stop ends it and waits.
func watchHUP(fn func()) *hupWatcher {
	w := &hupWatcher{ch: make(chan os.Signal, 1), quit: make(chan struct{}), done: make(chan struct{})}
	signal.Notify(w.ch, syscall.SIGHUP)
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.ch:
				fn()
			case <-w.quit:
				return
			}
		}
	}()
	return w
}

func (w *hupWatcher) stop() {
	signal.Stop(w.ch)
	close(w.quit)
	<-w.done
}
