// Command vigil monitors and enforces Linux kernel activity: process,
// module, memory-permission and file events from eBPF, policies that kill
// or deny, a seccomp user-notification supervisor, and probes of the
// kernel's hooking mechanisms. All logic lives in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-sec/vigil/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
