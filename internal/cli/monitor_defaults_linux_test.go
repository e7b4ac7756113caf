package cli

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestMonitorDefaultModule: a plain `vigil monitor` watches module loads
// only where the kernel has modules (elsewhere it says why it does not),
// and `--events module` still asks for them everywhere.
func TestMonitorDefaultModule(t *testing.T) {
	vmtest.RequireRoot(t)
	code, _, errOut := runShared(t, "monitor", "--duration", "1s", "-o", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	chose := strings.Contains(errOut, "event=module")
	said := strings.Contains(errOut, "module events off by default")
	if has := proc.Host.HasModules(); chose != has || said == has {
		t.Errorf("kernel has modules: %v; module events chosen: %v, off-by-default line: %v\n%s", has, chose, said, errOut)
	}
	code, _, errOut = runShared(t, "monitor", "--events", "module", "--duration", "1s", "-o", "none")
	if code != 0 || !strings.Contains(errOut, "event=module") || strings.Contains(errOut, "module events off by default") {
		t.Errorf("--events module: exit %d, want module events chosen and no off-by-default line:\n%s", code, errOut)
	}
}
