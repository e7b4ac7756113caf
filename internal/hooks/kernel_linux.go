package hooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/kernfs"
)

// collectTracefs reads ftrace-hooked functions and kprobe/uprobe events.
func collectTracefs(s *Snapshot) {
	dir, err := kernfs.Tracefs()
	if err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("ftrace hooks and probe events: %v", err))
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, "enabled_functions"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.Ftrace = []FtraceHook{} // no CONFIG_DYNAMIC_FTRACE: nothing can be hooked this way
	case err != nil:
		s.Problems = append(s.Problems, fmt.Sprintf("reading enabled_functions: %v", err))
	default:
		if s.Ftrace, err = parseEnabledFunctions(string(b)); err != nil {
			s.Problems = append(s.Problems, err.Error())
		}
	}
	s.ProbeEvents = []string{}
	for _, f := range []string{"kprobe_events", "uprobe_events"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // that probe kind is not configured
		}
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("reading %s: %v", f, err))
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				s.ProbeEvents = append(s.ProbeEvents, l)
			}
		}
	}
}

// collectKernel reads live patches, modules, taint and active LSMs.
func collectKernel(s *Snapshot) {
	s.Livepatches = []Livepatch{}
	ents, err := os.ReadDir("/sys/kernel/livepatch")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.Problems = append(s.Problems, fmt.Sprintf("reading live patches: %v", err))
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join("/sys/kernel/livepatch", e.Name(), "enabled"))
		s.Livepatches = append(s.Livepatches, Livepatch{Name: e.Name(), Enabled: strings.TrimSpace(string(b)) == "1"})
	}
	if b, err := os.ReadFile("/proc/modules"); err == nil {
		if s.Modules, err = parseModules(string(b)); err != nil {
			s.Problems = append(s.Problems, err.Error())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.Problems = append(s.Problems, fmt.Sprintf("reading modules: %v", err))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/tainted"); err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("reading taint: %v", err))
	} else if s.Taint, err = decodeTaint(string(b)); err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	dir, err := kernfs.Securityfs()
	if err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("active LSMs: %v", err))
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, "lsm"))
	if err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("reading active LSMs: %v", err))
		return
	}
	s.LSMs = strings.Split(strings.TrimSpace(string(b)), ",")
}

// maxPinned bounds the bpffs walk; pins are a courtesy, not a census.
const maxPinned = 4096

// collectPinned adds the bpffs paths that pin programs or their links.
func collectPinned(progs map[uint32]*BPFProgram) []string {
	mounts, err := kernfs.Bpffs()
	if err != nil {
		return []string{fmt.Sprintf("finding bpffs mounts: %v", err)}
	}
	seen := 0
	for _, m := range mounts {
		filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if seen++; seen > maxPinned {
				return filepath.SkipAll
			}
			if id, ok := pinnedProgID(path); ok && progs[id] != nil {
				progs[id].Pinned = append(progs[id].Pinned, path)
			}
			return nil
		})
	}
	return nil
}

// pinnedProgID returns the program a pinned program or link refers to.
func pinnedProgID(path string) (uint32, bool) {
	ro := &ebpf.LoadPinOptions{ReadOnly: true}
	if p, err := ebpf.LoadPinnedProgram(path, ro); err == nil {
		defer p.Close()
		if info, err := p.Info(); err == nil {
			id, ok := info.ID()
			return uint32(id), ok
		}
		return 0, false
	}
	if l, err := link.LoadPinnedLink(path, ro); err == nil {
		defer l.Close()
		if info, err := l.Info(); err == nil {
			return uint32(info.Program), true
		}
	}
	return 0, false
}
